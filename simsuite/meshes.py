"""Triangle meshes (OBJ/STL) loaded once and shared by mass properties and the renderer."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Sequence

import trimesh


@lru_cache(maxsize=256)
def _load(path: str) -> trimesh.Trimesh:
    try:
        mesh = trimesh.load(path, force="mesh", process=True)
    except Exception as exc:  # trimesh raises many types for bad files
        raise ValueError(f"cannot read mesh {path!r}: {exc}") from exc
    if not isinstance(mesh, trimesh.Trimesh) or len(mesh.faces) == 0:
        raise ValueError(f"mesh {path!r} has no triangles")
    return mesh


def load_mesh(path: str | Path, scale: Sequence[float] = (1.0, 1.0, 1.0)) -> trimesh.Trimesh:
    """A scaled copy of the mesh at ``path`` (the cached original is never modified)."""
    mesh = _load(str(Path(path).resolve())).copy()
    if tuple(scale) != (1.0, 1.0, 1.0):
        mesh.apply_scale(scale)
    return mesh
