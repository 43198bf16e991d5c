"""The Intercom API client: one transport (auth, regions, rate limits, retries) under
typed resource methods. ``syncer.intercom.publisher`` applies sync plans through it."""
