"""Data shipped with the package: the demo calls."""
