"""Physics backends, each imported lazily from its own module."""

from __future__ import annotations

from simsuite.backends.base import BACKENDS, Backend, BackendError, Contact, RayHits


def make_backend(name: str) -> Backend:
    """A fresh, uncompiled backend instance for ``name`` ("mujoco" or "pybullet")."""
    if name == "mujoco":
        from simsuite.backends.mujoco import MujocoBackend

        return MujocoBackend()
    if name == "pybullet":
        from simsuite.backends.pybullet import PybulletBackend

        return PybulletBackend()
    raise BackendError(f"unknown backend {name!r}; choose one of {BACKENDS}")


__all__ = ["BACKENDS", "Backend", "BackendError", "Contact", "RayHits", "make_backend"]
