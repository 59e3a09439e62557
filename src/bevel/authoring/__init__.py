"""bevel.authoring."""
