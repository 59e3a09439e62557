"""bevel.cache."""
