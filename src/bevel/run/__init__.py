"""bevel.run."""
