"""Transport core: session, retries, rate limiting, auth and streaming (internal)."""
