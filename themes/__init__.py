"""Colour themes of the terminal app (TOML files), shipped as ``dramatis.tui.themes``."""
