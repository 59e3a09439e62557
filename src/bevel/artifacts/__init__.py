"""bevel.artifacts."""
