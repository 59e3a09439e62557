"""bevel.artifacts.materializers."""
