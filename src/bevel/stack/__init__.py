"""bevel.stack."""
