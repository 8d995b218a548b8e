"""Adapters: the service layer's ports implemented on real (and in-memory) infrastructure."""
