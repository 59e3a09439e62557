"""bevel.metadata."""
