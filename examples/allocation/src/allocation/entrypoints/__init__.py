"""Entrypoints: the ways into the service (the command line, HTTP, Redis streams)."""
