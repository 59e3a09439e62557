"""bevel.cli."""
