"""bevel.orchestrators."""
