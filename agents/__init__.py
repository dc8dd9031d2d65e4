"""Scripted experts and training scripts; shipped as ``simsuite.agents``."""
