"""Replaying a compiled plan through the browser port, with no model port at all."""
