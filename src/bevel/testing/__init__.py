"""bevel.testing."""
