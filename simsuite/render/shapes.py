"""Triangle meshes for the scene's primitives and mesh geoms, ready for the GPU.

Every function returns a :class:`Mesh` in the geom's own frame: float32 positions,
unit normals and texture coordinates, and uint32 triangle indices (counter-clockwise
seen from outside). Texture coordinates span one tile per face (box, plane, caps) or
one tile around and along the surface (sphere, cylinder, capsule); the renderer scales
them by the material's ``texrepeat``. Infinite planes get one tile per metre.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

SPHERE_SEGMENTS = (40, 20)  # around, pole to pole: sagitta r·(1 − cos(π/40)) = 0.3 % of r
CYLINDER_SEGMENTS = 40
LOD_SEGMENTS = ((40, 20), (28, 14), (20, 10), (14, 8), (10, 6), (8, 4))  # (around, pole to pole) per level of detail


@dataclass(frozen=True)
class Mesh:
    positions: np.ndarray  # (V, 3) float32
    normals: np.ndarray  # (V, 3) float32
    uvs: np.ndarray  # (V, 2) float32
    indices: np.ndarray  # (T, 3) uint32
    closed: bool = True  # wound counter-clockwise outward with no hole in view: back faces may be culled


def _mesh(p, n, uv, idx, closed: bool = True) -> Mesh:
    return Mesh(
        np.ascontiguousarray(p, np.float32),
        np.ascontiguousarray(n, np.float32),
        np.ascontiguousarray(uv, np.float32),
        np.ascontiguousarray(idx, np.uint32).reshape(-1, 3),
        closed,
    )


def box(half: tuple[float, float, float]) -> Mesh:
    """24 vertices, a flat normal and a full texture tile per face."""
    hx, hy, hz = half
    p, n, uv, idx = [], [], [], []
    # (normal axis, sign): the face's two in-plane axes u, v with u × v = normal
    for axis in range(3):
        for sign in (1.0, -1.0):
            u_ax, v_ax = (axis + 1) % 3, (axis + 2) % 3
            if sign < 0:
                u_ax, v_ax = v_ax, u_ax
            normal = np.zeros(3)
            normal[axis] = sign
            base = len(p)
            for cu, cv in ((-1, -1), (1, -1), (1, 1), (-1, 1)):
                v = np.zeros(3)
                v[axis] = sign
                v[u_ax], v[v_ax] = cu, cv
                p.append(v * (hx, hy, hz))
                n.append(normal)
                uv.append(((cu + 1) / 2, (cv + 1) / 2))
            idx += [base, base + 1, base + 2, base, base + 2, base + 3]
    return _mesh(p, n, uv, idx)


def plane(half_x: float, half_y: float) -> Mesh:
    """A quad in the z = 0 plane facing +z; (0, 0) half extents should be replaced by the
    caller with a large finite size (UVs are then in metres: one tile per metre)."""
    p = [(-half_x, -half_y, 0), (half_x, -half_y, 0), (half_x, half_y, 0), (-half_x, half_y, 0)]
    uv = [(0, 0), (1, 0), (1, 1), (0, 1)]
    return _mesh(p, [(0, 0, 1)] * 4, uv, [0, 1, 2, 0, 2, 3], closed=False)


PLANE_CELL_M = 50.0  # an infinite plane is a grid of cells this size (more where far_m is huge)
PLANE_MAX_CELLS = 32  # per side


def infinite_plane(extent_m: float) -> Mesh:
    """A z = 0 plane out to ``extent_m``, facing +z, as a grid of cells (UVs in metres).
    One quad kilometres wide loses depth precision once clipped: a road 4 mm above the
    ground lost to it right in front of the camera. Cells of tens of metres keep each
    triangle's depth interpolation exact to well under a millimetre."""
    n = int(np.clip(np.ceil(2 * extent_m / PLANE_CELL_M), 1, PLANE_MAX_CELLS))
    xs = np.linspace(-extent_m, extent_m, n + 1)
    x, y = np.meshgrid(xs, xs, indexing="ij")
    p = np.stack([x.ravel(), y.ravel(), np.zeros(x.size)], 1)
    i, j = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
    a = (i * (n + 1) + j).ravel()
    b, c, d = a + n + 1, a + n + 2, a + 1
    tris = np.concatenate([np.stack([a, b, c], 1), np.stack([a, c, d], 1)])
    return _mesh(p, np.tile([0.0, 0.0, 1.0], (len(p), 1)), p[:, :2], tris, closed=False)


def _lathe(profile: np.ndarray, normals: np.ndarray, v: np.ndarray, segments: int) -> Mesh:
    """Revolve a (radius, z) profile about z. ``v`` is the texture coordinate along it."""
    ang = np.linspace(0.0, 2 * math.pi, segments + 1)  # seam duplicated for texture wrap
    c, s = np.cos(ang), np.sin(ang)
    r, z = profile[:, 0][:, None], profile[:, 1][:, None]
    nr, nz = normals[:, 0][:, None], normals[:, 1][:, None]
    P = np.stack([r * c, r * s, np.broadcast_to(z, (len(profile), segments + 1))], -1)
    N = np.stack([nr * c, nr * s, np.broadcast_to(nz, (len(profile), segments + 1))], -1)
    U = np.broadcast_to(ang / (2 * math.pi), (len(profile), segments + 1))
    V = np.broadcast_to(v[:, None], (len(profile), segments + 1))
    rows, cols = len(profile), segments + 1
    i, j = np.meshgrid(np.arange(rows - 1), np.arange(segments), indexing="ij")
    a = i * cols + j
    b, c2, d = a + 1, a + cols + 1, a + cols
    # profile runs bottom (low z) to top; counter-clockwise seen from outside
    tris = np.concatenate([np.stack([a, b, c2], -1), np.stack([a, c2, d], -1)], 0).reshape(-1, 3)
    # drop triangles that collapse at a pole
    Pf = P.reshape(-1, 3)
    area = np.linalg.norm(np.cross(Pf[tris[:, 1]] - Pf[tris[:, 0]], Pf[tris[:, 2]] - Pf[tris[:, 0]]), axis=1)
    tris = tris[area > 1e-12 * max(1.0, float(np.abs(Pf).max()) ** 2)]
    return _mesh(Pf, N.reshape(-1, 3), np.stack([U, V], -1).reshape(-1, 2), tris)


def sphere(radius: float, segments: tuple[int, int] = SPHERE_SEGMENTS) -> Mesh:
    around, rings = segments
    theta = np.linspace(-math.pi / 2, math.pi / 2, rings + 1)  # latitude, south pole first
    prof_n = np.stack([np.cos(theta), np.sin(theta)], -1)
    return _lathe(prof_n * radius, prof_n, (theta + math.pi / 2) / math.pi, around)


def capsule(radius: float, half_length: float, segments: tuple[int, int] = SPHERE_SEGMENTS) -> Mesh:
    around, rings = segments
    half_rings = max(2, rings // 2)
    lo = np.linspace(-math.pi / 2, 0.0, half_rings + 1)
    hi = np.linspace(0.0, math.pi / 2, half_rings + 1)
    n = np.concatenate([np.stack([np.cos(lo), np.sin(lo)], -1), np.stack([np.cos(hi), np.sin(hi)], -1)])
    p = n * radius
    p[: half_rings + 1, 1] -= half_length
    p[half_rings + 1 :, 1] += half_length
    total = 2 * half_length + math.pi * radius
    arc = np.concatenate([(lo + math.pi / 2) * radius, math.pi / 2 * radius + 2 * half_length + hi * radius])
    return _lathe(p, n, arc / total, around)


def cylinder(radius: float, half_length: float, segments: int = CYLINDER_SEGMENTS) -> Mesh:
    side = _lathe(
        np.array([[radius, -half_length], [radius, half_length]]), np.array([[1.0, 0.0], [1.0, 0.0]]), np.array([0.0, 1.0]), segments
    )
    parts = [side]
    ang = np.linspace(0.0, 2 * math.pi, segments, endpoint=False)
    ring = np.stack([np.cos(ang), np.sin(ang)], -1)
    for sign in (1.0, -1.0):
        p = np.concatenate([[[0.0, 0.0]], ring * radius])
        p = np.concatenate([p, np.full((len(p), 1), sign * half_length)], 1)
        uv = np.concatenate([[[0.5, 0.5]], ring * 0.5 + 0.5])
        k = np.arange(segments)
        tri = np.stack([np.zeros(segments, int), 1 + k, 1 + (k + 1) % segments], -1)
        if sign < 0:
            tri = tri[:, [0, 2, 1]]
        parts.append(_mesh(p, np.tile([0.0, 0.0, sign], (len(p), 1)), uv, tri))
    return concat(parts)


def concat(parts: list[Mesh]) -> Mesh:
    offsets = np.cumsum([0] + [len(m.positions) for m in parts[:-1]])
    return _mesh(
        np.concatenate([m.positions for m in parts]),
        np.concatenate([m.normals for m in parts]),
        np.concatenate([m.uvs for m in parts]),
        np.concatenate([m.indices + o for m, o in zip(parts, offsets)]),
    )


@lru_cache(maxsize=128)
def mesh_file(path: str, scale: tuple[float, float, float]) -> Mesh:
    """An OBJ/STL file through :func:`simsuite.meshes.load_mesh`; its own UVs where it has
    them (else a planar x-y projection), its vertex normals (corrected for scale). It counts
    as closed (back faces culled) when its winding is consistent and encloses positive volume."""
    import trimesh

    from simsuite.meshes import load_mesh

    tm = load_mesh(Path(path), scale)
    merged = trimesh.Trimesh(tm.vertices, tm.faces, process=False)
    merged.merge_vertices(merge_tex=True, merge_norm=True)
    closed = bool(merged.is_winding_consistent and merged.volume > 0)
    positions = np.asarray(tm.vertices, np.float32)
    normals = np.asarray(tm.vertex_normals, np.float32)
    uv = getattr(tm.visual, "uv", None)
    if uv is None or len(uv) != len(positions):
        lo, hi = positions.min(0), positions.max(0)
        uv = (positions[:, :2] - lo[:2]) / np.maximum(hi[:2] - lo[:2], 1e-9)
    return _mesh(positions, normals, uv, np.asarray(tm.faces), closed)


def transformed(mesh: Mesh, rot: np.ndarray, pos: np.ndarray, uv_scale: tuple[float, float]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Positions and normals posed by ``rot, pos``, and UVs scaled (the geom's pose in its body)."""
    p = mesh.positions @ rot.T.astype(np.float32) + pos.astype(np.float32)
    n = mesh.normals @ rot.T.astype(np.float32)
    uv = mesh.uvs * np.asarray(uv_scale, np.float32)
    return p, n, uv


def _vertex_normals(positions: np.ndarray, indices: np.ndarray) -> np.ndarray:
    p = positions.astype(np.float64)
    tri = p[indices]
    face_n = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])  # length = 2 x area
    n = np.zeros_like(p)
    for k in range(3):
        np.add.at(n, indices[:, k], face_n)
    norm = np.linalg.norm(n, axis=1, keepdims=True)
    return np.where(norm > 0, n / np.maximum(norm, 1e-30), np.array([0.0, 0.0, 1.0]))


def _cluster(mesh: Mesh, cell: float) -> Mesh:
    """Vertex clustering on a grid of ``cell``: each cluster becomes the original vertex
    nearest to its mean (a point of the surface, so convex parts do not shrink)."""
    p = mesh.positions.astype(np.float64)
    keys = np.floor((p - p.min(0)) / cell).astype(np.int64)
    _, inverse, counts = np.unique(keys, axis=0, return_inverse=True, return_counts=True)
    inverse = inverse.ravel()
    k = len(counts)
    mean = np.zeros((k, 3))
    np.add.at(mean, inverse, p)
    mean /= counts[:, None]
    dist = np.linalg.norm(p - mean[inverse], axis=1)
    order = np.lexsort((dist, inverse))  # per cluster, nearest first
    first = order[np.r_[0, np.flatnonzero(np.diff(inverse[order])) + 1]]
    pos, uv = p[first], mesh.uvs[first]
    tris = inverse[mesh.indices]
    keep = (tris[:, 0] != tris[:, 1]) & (tris[:, 1] != tris[:, 2]) & (tris[:, 0] != tris[:, 2])
    tris = tris[keep]
    _, unique_first = np.unique(np.sort(tris, axis=1), axis=0, return_index=True)
    tris = tris[np.sort(unique_first)]
    return _mesh(pos, _vertex_normals(pos, tris), uv, tris, closed=False)


def decimate(mesh: Mesh, max_faces: int) -> Mesh:
    """A coarser mesh with at most about ``max_faces`` triangles (vertex clustering on a
    grid whose cell size is searched for): a level of detail for small images on CPUs."""
    if max_faces <= 0:
        raise ValueError(f"max_faces must be positive, got {max_faces}")
    if len(mesh.indices) <= max_faces:
        return mesh
    extent = float(np.ptp(mesh.positions, axis=0).max())
    lo, hi = 0.0, extent
    best = None
    for _ in range(18):
        cell = (lo + hi) / 2
        m = _cluster(mesh, cell)
        if len(m.indices) > max_faces:
            lo = cell
        else:
            hi, best = cell, m
        if best is not None and len(best.indices) >= 0.9 * max_faces:
            break
    return best if best is not None else _cluster(mesh, extent)


# fast_simplification's aggressiveness: its collapse threshold grows as (iteration + 3)^agg.
# The default 7 collapses in a rough order; at 5 the Panda's levels within a 9 mm error
# have 2.4x fewer triangles (3.4k vs 8.2k in all) for the same build time; at 1 it stalls.
SIMPLIFY_AGG = 5.0
CREASE_DEG = 40.0  # coarse levels: normals are smooth across edges flatter than this, split at sharper ones


def simplify(mesh: Mesh, max_faces: int, preserve_border: bool = False) -> Mesh:
    """About ``max_faces`` triangles by quadric edge collapse (``fast_simplification``, as
    trimesh uses) where installed, else by :func:`decimate`. Vertices are shared between
    faces (a CPU rasterizer shades each once), with normals smoothed across edges flatter
    than :data:`CREASE_DEG` and split at sharper ones, so a coarse level keeps crisp edges.
    ``preserve_border``: never collapse an edge touching an open border (quadric only). A
    flat open sheet costs no quadric error to shrink, so without this the first levels of a
    mesh with holes can eat whole panels (Panda's hand: 9 mm at 2/3 of its triangles)."""
    import trimesh

    if len(mesh.indices) <= max_faces:
        return mesh
    try:
        import fast_simplification
    except ImportError:
        coarse = decimate(mesh, max_faces)
        points, faces = coarse.positions, coarse.indices
    else:
        points, inverse = np.unique(mesh.positions, axis=0, return_inverse=True)
        faces = inverse.ravel()[mesh.indices]
        reduction = 1.0 - max_faces / len(faces)
        points, faces = fast_simplification.simplify(
            points.astype(np.float32), faces.astype(np.int32), target_reduction=reduction, agg=SIMPLIFY_AGG, preserve_border=preserve_border
        )
    tm = trimesh.Trimesh(np.asarray(points, np.float64), np.asarray(faces, np.int64).reshape(-1, 3), process=False)
    tm.remove_unreferenced_vertices()
    shaded = trimesh.graph.smooth_shade(tm, angle=np.radians(CREASE_DEG))
    p = np.asarray(shaded.vertices, np.float64)
    lo, hi = mesh.positions.min(0), mesh.positions.max(0)
    uv = (p[:, :2] - lo[:2]) / np.maximum(hi[:2] - lo[:2], 1e-9)
    return _mesh(p, np.asarray(shaded.vertex_normals), uv, np.asarray(shaded.faces), mesh.closed)


def surface_samples(mesh: Mesh, spacing_m: float, max_per_edge: int = 32) -> tuple[np.ndarray, np.ndarray]:
    """Points across every triangle on a barycentric grid at most ``spacing_m`` apart along
    its longest edge (capped at ``max_per_edge`` steps), and the triangle each belongs to."""
    tri = mesh.positions.astype(np.float64)[mesh.indices]  # (T, 3, 3)
    edge = np.linalg.norm(tri - np.roll(tri, 1, axis=1), axis=2).max(1)
    steps = np.clip(np.ceil(edge / spacing_m), 1, max_per_edge).astype(int)
    points, owners = [], []
    for n in np.unique(steps):
        i, j = np.mgrid[0 : n + 1, 0 : n + 1]
        keep = i + j <= n
        w = np.stack([n - i[keep] - j[keep], i[keep], j[keep]], 1) / n  # (M, 3) barycentric
        which = np.flatnonzero(steps == n)
        points.append(np.einsum("mk,tkc->tmc", w, tri[which]).reshape(-1, 3))
        owners.append(np.repeat(which, len(w)))
    return np.concatenate(points), np.concatenate(owners)


class SurfaceIndex:
    """Point-to-surface distances for one mesh: exact point-triangle distances to the
    triangles owning the ``candidates`` nearest of its surface samples (``spacing_m``
    apart). Never below the true distance, and above it by under ``spacing_m`` at worst
    (only when none of those triangles is the nearest one)."""

    def __init__(self, mesh: Mesh, spacing_m: float, candidates: int = 8) -> None:
        from scipy.spatial import cKDTree

        samples, self.owners = surface_samples(mesh, spacing_m)
        self.triangles = mesh.positions.astype(np.float64)[mesh.indices]
        self.tree = cKDTree(samples)
        self.k = min(candidates, len(samples))

    def distance(self, points: np.ndarray) -> np.ndarray:
        from trimesh.triangles import closest_point

        _, near = self.tree.query(points, k=self.k)
        owner = self.owners[near.reshape(len(points), self.k)]
        n_tri = len(self.triangles)
        key = np.unique(np.repeat(np.arange(len(points), dtype=np.int64), self.k) * n_tri + owner.ravel())  # (point, triangle) once each
        which, tri = np.divmod(key, n_tri)
        pts = points[which]
        dist = np.linalg.norm(closest_point(self.triangles[tri], pts) - pts, axis=1)
        out = np.full(len(points), np.inf)
        np.minimum.at(out, which, dist)
        return out


def _spacing(mesh: Mesh) -> float:
    return 0.01 * max(float(np.ptp(mesh.positions, axis=0).max()), 1e-9)


def geometric_error(coarse: Mesh, full: Mesh, full_index: SurfaceIndex | None = None) -> float:
    """Two-sided (Hausdorff) distance [m] between a coarse level and the full mesh, sampled
    at the full mesh's vertices and on a grid across every coarse facet; 0 for the same mesh."""
    if coarse is full:
        return 0.0
    spacing = _spacing(full)
    full_index = full_index or SurfaceIndex(full, spacing)
    there = full_index.distance(surface_samples(coarse, 4 * spacing, 8)[0]).max(initial=0.0)
    back = SurfaceIndex(coarse, spacing).distance(np.unique(full.positions.astype(np.float64), axis=0)).max(initial=0.0)
    return float(max(there, back))


@dataclass(frozen=True)
class Level:
    """One level of detail: its triangles and their largest distance [m] from the full
    geometry (0 for the full level itself)."""

    mesh: Mesh
    error_m: float


def _levels(full: Mesh, coarser: list[Mesh]) -> tuple[Level, ...]:
    """Levels with measured errors, finest first; errors made nondecreasing (a level is never
    credited with less error than a finer one)."""
    out = [Level(full, 0.0)]
    index = SurfaceIndex(full, _spacing(full)) if coarser else None
    for mesh in coarser:
        err = max(geometric_error(mesh, full, index), out[-1].error_m)
        out.append(Level(mesh, err))
    return tuple(out)


LOD_CACHE_VERSION = 4  # bump when the simplification or the error measure changes


def cache_dir() -> Path:
    """Where derived mesh data is kept between runs: ``SIMSUITE_CACHE_DIR``, else
    ``$XDG_CACHE_HOME/simsuite``, else ``~/.cache/simsuite``."""
    import os

    root = os.environ.get("SIMSUITE_CACHE_DIR")
    if root:
        return Path(root)
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "simsuite"


@lru_cache(maxsize=128)
def mesh_lods(path: str, scale: tuple[float, float, float], factor: float = 1.5, min_faces: int = 32) -> tuple[Level, ...]:
    """Levels of detail of a mesh file: the full mesh, then coarser ones with their measured
    geometric errors. Candidates come from chains of quadric simplifications of the full
    mesh (``factor`` times fewer triangles per step, down to about ``min_faces``): one free,
    one that keeps open borders where the mesh has any. Each suits different meshes, so the
    levels are the Pareto front of both (:func:`pareto_levels`): each coarser level has fewer
    triangles and a larger error than the one before. Simplifying and measuring take
    seconds per detailed mesh, so the levels are kept on disk (:func:`cache_dir`), keyed by
    the file's contents and these arguments."""
    import hashlib

    full = mesh_file(path, scale)
    key = hashlib.sha1(Path(path).read_bytes() + repr((scale, factor, min_faces, LOD_CACHE_VERSION, SIMPLIFY_AGG, _simplifier())).encode()).hexdigest()
    cached = cache_dir() / "lod" / f"{key}.npz"
    levels = _load_levels(cached, full)
    if levels is None:
        borders = (False, True) if _simplifier() == "quadric" and has_open_border(full) else (False,)
        coarser = [mesh for keep in borders for mesh in _chain(full, factor, min_faces, keep)]
        index = SurfaceIndex(full, _spacing(full)) if coarser else None
        levels = pareto_levels(full, [Level(mesh, geometric_error(mesh, full, index)) for mesh in coarser])
        _save_levels(cached, levels)
    return levels


def _chain(full: Mesh, factor: float, min_faces: int, preserve_border: bool) -> list[Mesh]:
    """Simplifications of ``full`` with ``factor`` times fewer triangles each, down to about
    ``min_faces`` (stopping early once a step removes under 10 %)."""
    coarser: list[Mesh] = []
    faces = int(len(full.indices) / factor)
    while faces >= min_faces:
        coarse = simplify(full, faces, preserve_border)
        if len(coarse.indices) > 0.9 * len((coarser[-1] if coarser else full).indices):
            break
        coarser.append(coarse)
        faces = int(len(coarse.indices) / factor)
    return coarser


def has_open_border(mesh: Mesh) -> bool:
    """Whether some edge (between vertices merged by position) belongs to one triangle only."""
    _, inverse = np.unique(mesh.positions, axis=0, return_inverse=True)
    tris = inverse.ravel()[mesh.indices]
    edges = np.sort(tris[:, [0, 1, 1, 2, 2, 0]].reshape(-1, 2), axis=1)
    _, counts = np.unique(edges, axis=0, return_counts=True)
    return bool((counts == 1).any())


def pareto_levels(full: Mesh, candidates: list[Level]) -> tuple[Level, ...]:
    """The full level, then the candidates that no other beats on both triangles and error,
    finest first: triangle counts fall and errors rise strictly from one level to the next
    (the renderer picks the coarsest level within its error budget)."""
    front: list[Level] = []
    for lv in sorted(candidates, key=lambda lv: (len(lv.mesh.indices), lv.error_m)):  # coarsest first
        if len(lv.mesh.indices) < len(full.indices) and (not front or lv.error_m < front[-1].error_m):
            front.append(lv)
    return (Level(full, 0.0), *reversed(front))


def _simplifier() -> str:
    import importlib.util

    return "quadric" if importlib.util.find_spec("fast_simplification") else "clustering"


def _save_levels(path: Path, levels: tuple[Level, ...]) -> None:
    """Write the coarse levels (best effort: a read-only home just means no cache)."""
    arrays: dict[str, np.ndarray] = {"errors": np.array([lv.error_m for lv in levels[1:]])}
    for k, lv in enumerate(levels[1:]):
        m = lv.mesh
        arrays.update({f"p{k}": m.positions, f"n{k}": m.normals, f"uv{k}": m.uvs, f"i{k}": m.indices, f"c{k}": np.array(m.closed)})
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp.npz")
        np.savez(tmp, **arrays)
        tmp.replace(path)
    except OSError:
        pass


def _load_levels(path: Path, full: Mesh) -> tuple[Level, ...] | None:
    try:
        with np.load(path) as z:
            errors = z["errors"]
            coarse = [Level(Mesh(z[f"p{k}"], z[f"n{k}"], z[f"uv{k}"], z[f"i{k}"], bool(z[f"c{k}"])), float(e)) for k, e in enumerate(errors)]
    except (OSError, KeyError, ValueError):
        return None
    return (Level(full, 0.0), *coarse)


@lru_cache(maxsize=256)
def primitive_lods(kind: str, size: tuple[float, ...]) -> tuple[Level, ...]:
    """Levels of detail of a sphere, capsule or cylinder (:data:`LOD_SEGMENTS`), each with
    its measured geometric error against the full tessellation."""
    make = {
        "sphere": lambda seg: sphere(size[0], seg),
        "capsule": lambda seg: capsule(size[0], size[1], seg),
        "cylinder": lambda seg: cylinder(size[0], size[1], seg[0]),
    }[kind]
    meshes = [make(seg) for seg in LOD_SEGMENTS]
    return _levels(meshes[0], meshes[1:])
