"""The domain: products, their batches, order lines, and the messages about them."""
