"""HTTP: one transport (``transport``) and the clients built on it, one per service."""
