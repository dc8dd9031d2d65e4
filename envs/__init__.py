"""Task families, one file each; shipped as ``simsuite.envs``."""
