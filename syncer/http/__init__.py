"""HTTP pieces every API client shares (Intercom's, Confluence's): retry timing."""
