"""Entrypoints: the ways into the service (the command line; later HTTP and Redis)."""
