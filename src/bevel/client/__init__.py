"""bevel.client."""
