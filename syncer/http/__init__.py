"""HTTP pieces every API client shares (Intercom's, Confluence's): the retry loop with its
host guard, send guard and counters (``core``), and retry timing (``backoff``). A client
adds only what its service's replies mean (a ``core.Service``)."""
