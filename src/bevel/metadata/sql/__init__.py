"""bevel.metadata.sql."""
