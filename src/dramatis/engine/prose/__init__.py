"""The chronicler's prose machinery: text, a seeded grammar, styles, memory and the realiser.

Everything here is pure: stdlib, pydantic and ``dramatis.domain`` only, no clock, no global random.
"""
