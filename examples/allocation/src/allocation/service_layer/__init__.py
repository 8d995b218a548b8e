"""The service layer: the use cases (handlers) and the ports they depend on."""
