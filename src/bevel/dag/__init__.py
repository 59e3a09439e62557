"""bevel.dag."""
