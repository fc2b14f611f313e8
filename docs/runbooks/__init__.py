"""Operator runbooks (markdown), shipped inside the wheel as ``dramatis.runbooks``."""
