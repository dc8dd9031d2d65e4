"""Procedural world builders; shipped as ``simsuite.worlds``."""
