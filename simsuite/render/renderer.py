"""The headless renderer: RGB, metric depth and instance segmentation in one pass.

A :class:`Renderer` uploads a :class:`~simsuite.scene.Scene`'s visible geometry once and
then draws it from body poses, the ones any backend reports through
``backend.body_names`` and ``backend.body_poses()``. It never touches an engine, so a
frame means the same thing on MuJoCo and PyBullet.

Outputs, per camera (:class:`Frame`):

- ``rgb``: (H, W, 3) uint8, row 0 at the top.
- ``depth``: (H, W) float32 metres along the camera's optical axis (the z of the hit point
  in the optical frame, not the distance along the ray); ``inf`` where nothing was hit
  (background, or beyond ``far_m``), as ROS REP 118 has it for "no return".
- ``seg``: (H, W) int32 instance id: 1 + the body's index in the scene's body order
  (:attr:`Renderer.body_names`, the order both backends use for ``body_names``); 0 is
  background. :attr:`Renderer.id_to_name`, :attr:`Renderer.id_to_class` and
  :attr:`Renderer.class_lut` map ids back to names and semantic classes.

What is drawn: every geom with ``visible=True`` (visual-only geoms included, collision-only
ones left out) whose colour alpha is > 0; a geom's colour is its material's ``rgba``
when it names a material (times the material's texture, tiled ``texrepeat`` times per
face; once per metre on infinite planes), else its own ``rgba``; alpha is otherwise
ignored (everything is opaque). Infinite planes (size ``(0, 0)``) are drawn out to
``far_m``. Lights are ``scene.lights`` (directional and point, at most 8), or a default
sun when the scene has none, plus ambient and a dim headlight. ``shadows=True`` adds a
shadow map for one light (the first with ``cast_shadow``, else the first light).

Visual randomization (:meth:`Renderer.set_appearance`, names and limits in
:mod:`simsuite.render.appearance`) changes colours, procedural and image textures per body,
the key light, a camera pose and fov jitter, and shows distractor shapes, at run time: no
geometry or context is rebuilt and physics is untouched. Per-body looks live in a small
float texture indexed by the vertex's body index; distractor shapes are allocated once
(``max_distractors`` slots, each a box, a sphere and a cylinder of unit size, scaled and
posed through their pose rows; unused ones are posed to zero and draw nothing). Distractor
slot k has instance id ``len(body_names) + 1 + k`` (:attr:`Renderer.distractor_ids`) and the
semantic class ``"distractor"``, appended after the scene's classes so no other label moves.
The programs that draw per-body looks are compiled on the first call that needs them; an
appearance equal to :func:`~simsuite.render.appearance.nominal_visual` draws with the plain
programs, pixel for pixel what an unrandomized renderer draws.
"""

from __future__ import annotations

import ctypes
import math
import weakref
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping, Sequence

import numpy as np

from simsuite.render import shaders, shapes
from simsuite.render.appearance import DEFAULT_LIGHTS, MAX_DISTRACTORS, Appearance, AppearanceError, VisualSpec, distractor_layout
from simsuite.render.camera import check_camera, focal_px, intrinsics, overview_camera, pose_matrix, projection_matrix, view_matrix
from simsuite.render.context import RenderError, create_context, gl_function, make_current, release_context
from simsuite.scene import Camera, Light, Scene
from simsuite.transforms import mat_to_quat, quat_to_mat

MAX_LIGHTS = 8
BACKGROUND_ID = 0
DISTRACTOR_CLASS = "distractor"
IMAGE_TEXTURE_PX = 256  # image textures of set_appearance are resampled to this square size
IMAGE_LAYERS = 16  # image textures held at once (least recently used ones are replaced)
_MODE_BITS = {1: 0, 2: shaders.PATTERN_BITS["checker"], 3: shaders.PATTERN_BITS["noise"], 4: shaders.PATTERN_BITS["gradient"], 5: shaders.PATTERN_BITS["image"]}
_VERTEX_DTYPE = np.dtype([("pos", "f4", 3), ("normal", "f4", 3), ("uv", "f4", 2), ("color", "u1", 4), ("body", "i4")])
_VERTEX_ATTRIBUTES = (("3f", 12, "in_pos"), ("3f", 12, "in_normal"), ("2f", 8, "in_uv"), ("4f1", 4, "in_color"), ("1i", 4, "in_body"))
_GL_COLOR, _GL_DEPTH = 0x1800, 0x1801
_GL_TRIANGLES, _GL_UNSIGNED_INT = 0x0004, 0x1405


@dataclass
class Frame:
    """One camera's images (see the module docstring for units and background values)."""

    rgb: np.ndarray  # (H, W, 3) uint8
    depth: np.ndarray  # (H, W) float32 [m] along the optical axis; inf = nothing hit
    seg: np.ndarray  # (H, W) int32 instance id; 0 = background


@dataclass
class TiledFrames:
    """Many cameras (and poses) rendered into one framebuffer and read back once.

    ``rgb``, ``depth`` and ``seg`` are the whole atlas; ``tiles`` maps ``(state, camera)``
    to ``(row, col, height, width)`` of its tile. ``frame(camera, state)`` gives a
    :class:`Frame` of views into the atlas (no copy).
    """

    rgb: np.ndarray
    depth: np.ndarray
    seg: np.ndarray
    tiles: dict[tuple[int, str], tuple[int, int, int, int]] = field(default_factory=dict)

    def frame(self, camera: str, state: int = 0) -> Frame:
        try:
            r, c, h, w = self.tiles[(state, camera)]
        except KeyError:
            raise KeyError(f"no tile for camera {camera!r} state {state}; tiles are {sorted(self.tiles)}") from None
        return Frame(self.rgb[r : r + h, c : c + w], self.depth[r : r + h, c : c + w], self.seg[r : r + h, c : c + w])

    def stack(self, camera: str) -> Frame:
        """One camera across all states as (B, H, W, ...) arrays (copies)."""
        states = sorted(s for s, cam in self.tiles if cam == camera)
        frames = [self.frame(camera, s) for s in states]
        return Frame(np.stack([f.rgb for f in frames]), np.stack([f.depth for f in frames]), np.stack([f.seg for f in frames]))


# Rotation matrix entries as linear combinations of the quaternion's pairwise products
# (ww, xx, yy, zz, wx, wy, wz, xy, xz, yz), divided by |q|² so non-unit input is fine.
_I = np.array([0, 1, 2, 3, 0, 0, 0, 1, 1, 2])
_J = np.array([0, 1, 2, 3, 1, 2, 3, 2, 3, 3])
_M = np.zeros((10, 9))
for _entry, _terms in enumerate(
    [
        {0: 1, 1: 1, 2: -1, 3: -1}, {7: 2, 6: -2}, {8: 2, 5: 2},
        {7: 2, 6: 2}, {0: 1, 1: -1, 2: 1, 3: -1}, {9: 2, 4: -2},
        {8: 2, 5: -2}, {9: 2, 4: 2}, {0: 1, 1: -1, 2: -1, 3: 1},
    ]
):
    for _k, _v in _terms.items():
        _M[_k, _entry] = _v


def quats_to_rows(positions: np.ndarray, quats: np.ndarray) -> np.ndarray:
    """(..., 3) positions and (..., 4) wxyz quaternions -> (..., 3, 4) float32 [R | t]."""
    q = np.asarray(quats, np.float64)
    products = q[..., _I] * q[..., _J]
    rot = (products @ _M) / products[..., :4].sum(-1, keepdims=True)
    out = np.empty(q.shape[:-1] + (3, 4), np.float32)
    out[..., :3] = rot.reshape(q.shape[:-1] + (3, 3))
    out[..., 3] = positions
    return out


class Renderer:
    """Draws one scene from body poses into any number of cameras.

    Args:
        scene: the scene to draw (geometry, materials, lights are uploaded once).
        cameras: the cameras; default ``scene.cameras``, or an :func:`overview_camera`
            when the scene has none. More can be added with :meth:`add_camera`.
        shadows: a shadow map for one light (off by default: it costs a second pass).
        device: EGL device choice, see :mod:`simsuite.render.context` (default: the
            ``SIMSUITE_GL`` variable, else a GPU if one opens, else Mesa llvmpipe).
        background: RGB in [0, 1] where nothing is hit.
        near_m, far_m: clip distances; nothing closer than ``near_m`` or beyond ``far_m``
            is drawn (depth there reads ``inf``).
        ambient, headlight, specular: light levels (white, in [0, 1]).
        shadow_map_px: shadow map resolution.
        lod: level of detail, as the largest screen-space geometric error allowed, in
            pixels of the camera drawing it (e.g. 1.0). Mesh geoms and curved primitives
            keep their full triangles plus coarser copies (fewer triangles and a larger error
            each: the Pareto front of quadric simplification chains for meshes,
            :func:`~simsuite.render.shapes.mesh_lods`; fewer segments for spheres, capsules, cylinders),
            each with its measured distance from the full surface, ``error_m`` (two-sided,
            :func:`~simsuite.render.shapes.geometric_error`). Per camera and frame, each geom
            draws the coarsest copy whose error, projected at the nearest point of the
            geom's bounding sphere (``error_m * focal_px / depth_m``, times the off-axis
            stretch ``sqrt(1 + tan²)`` of the geom's direction), is at most ``lod`` pixels: silhouettes and depth edges move by at most that much, so labels change
            only within ``lod`` pixels of an edge. Labels, depth and colour always come from
            the very triangles drawn (one pass). None or 0 (default): full detail, depth
            exact to the mesh. A CPU rasterizer pays per triangle, so this is the big speed
            lever for small images of detailed meshes (Panda: 106k triangles). Camera
            views of envs (observations, ``render_mode``) default to 1.0.
        max_distractors: distractor slots allocated for :meth:`set_appearance` (each a few
            hundred vertices; they draw nothing until ``distractors.count`` asks for them).

    The renderer owns its GL context; :meth:`close` frees it (idempotent; also on
    garbage collection and at exit). Use it as a context manager where convenient.
    """

    def __init__(
        self,
        scene: Scene,
        cameras: Sequence[Camera] | None = None,
        *,
        shadows: bool = False,
        device: str | None = None,
        background: tuple[float, float, float] = (0.12, 0.13, 0.16),
        near_m: float = 0.01,
        far_m: float = 100.0,
        ambient: float = 0.3,
        headlight: float = 0.15,
        specular: float = 0.15,
        shadow_map_px: int = 2048,
        lod: float | None = None,
        max_distractors: int = MAX_DISTRACTORS,
    ) -> None:
        if not 0 < near_m < far_m or not math.isfinite(far_m):
            raise ValueError(f"need 0 < near_m < far_m < inf, got near_m={near_m}, far_m={far_m}")
        self.scene = scene
        self.shadows = bool(shadows)
        if lod is not None and not (math.isfinite(lod) and lod >= 0):
            raise ValueError(f"lod must be None or >= 0 pixels of screen-space error, got {lod}")
        self.lod = float(lod) if lod else None
        #: triangles drawn by the last render call (all cameras), for benchmarks
        self.drawn_triangles = 0
        self.near_m, self.far_m = float(near_m), float(far_m)
        self.background = tuple(float(c) for c in background)
        self.body_names: tuple[str, ...] = tuple(scene.body_names())
        self._row = {name: i for i, name in enumerate(self.body_names)}
        bodies = [b for b, _, _ in scene.walk()]
        self.id_to_name: dict[int, str] = {BACKGROUND_ID: "background", **{i + 1: n for i, n in enumerate(self.body_names)}}
        classes = ["background"] + sorted({b.semantic_class for b in bodies})
        self.class_names: tuple[str, ...] = tuple(classes)
        self.id_to_class: dict[int, str] = {BACKGROUND_ID: "background", **{i + 1: b.semantic_class for i, b in enumerate(bodies)}}
        #: class index (into :attr:`class_names`) per instance id: ``class_lut[frame.seg]``
        self.class_lut = np.array([0] + [classes.index(b.semantic_class) for b in bodies], np.int32)
        if not 0 <= int(max_distractors) <= 64:
            raise ValueError(f"max_distractors must be in [0, 64], got {max_distractors}")
        self.max_distractors = int(max_distractors)
        n = len(self.body_names)
        #: instance ids of the distractor slots (class "distractor"), after the bodies' ids
        self.distractor_ids: tuple[int, ...] = tuple(range(n + 1, n + 1 + self.max_distractors))
        if self.max_distractors:
            if DISTRACTOR_CLASS not in classes:
                classes.append(DISTRACTOR_CLASS)
                self.class_names = tuple(classes)
            for k, i in enumerate(self.distractor_ids):
                self.id_to_name[i] = f"distractor_{k}"
                self.id_to_class[i] = DISTRACTOR_CLASS
            self.class_lut = np.concatenate([self.class_lut, np.full(self.max_distractors, classes.index(DISTRACTOR_CLASS), np.int32)])
        self.cameras: dict[str, Camera] = {}
        for cam in scene.cameras if cameras is None else cameras:
            self._check_new_camera(cam)
            self.cameras[cam.name] = cam
        if not self.cameras:
            cam = overview_camera(scene)
            self.cameras[cam.name] = cam
        self._lights = self._light_list(scene.lights or list(DEFAULT_LIGHTS))
        self._spec = VisualSpec.of(scene)
        self.appearance = Appearance.from_values(self._spec, {}, max_distractors=self.max_distractors)
        self._jittered: dict[str, Camera] = {}  # cameras under camera jitter (empty: none)
        self._look_active = False  # some body has an override: draw with the look programs
        self._look_suffix = ""  # "+look:<pattern mask>" while active
        self._distractor_rows: np.ndarray | None = None  # (3 * max_distractors, 3, 4) when shown
        self._stride = len(self.body_names)  # pose rows per state
        self._images: dict[str, int] = {}  # image texture path -> layer, in use order
        geometry = self._build_geometry()
        self._perm: dict[tuple[str, ...], np.ndarray | None] = {}
        self._camera_cache: dict[tuple, dict[str, Any]] = {}
        self._closed = True
        self._ctx, self.context_info = create_context(device)
        self._gl: dict[str, Any] = {}
        self._closed = False
        self._finalizer = weakref.finalize(self, _release_gl, self._ctx, self._gl)
        try:
            self._setup_gl(geometry, ambient, headlight, specular, shadow_map_px)
        except BaseException:
            self.close()
            raise

    # -- public API ---------------------------------------------------------------------
    @property
    def ids(self) -> int:
        """Number of instance ids including background (ids are 0 .. ids - 1)."""
        return len(self.body_names) + 1

    def intrinsics(self, camera: str | Camera) -> np.ndarray:
        """K (3x3, pixels) of a camera, by name or object; this renderer's cameras with the
        field of view of the camera jitter in force (:meth:`set_appearance`)."""
        if isinstance(camera, str):
            return intrinsics(self.camera(camera))
        ours = self.cameras.get(camera.name) is camera
        return intrinsics(self._jittered.get(camera.name, camera) if ours else camera)

    def camera(self, name: str) -> Camera:
        """The camera as drawn: its nominal spec (:attr:`cameras`) moved by the camera
        jitter of :meth:`set_appearance`, if any."""
        return self._jittered.get(name) or self.cameras[name]

    def add_camera(self, camera: Camera) -> None:
        self._check_new_camera(camera)
        self.cameras[camera.name] = camera
        if self.appearance.camera_jittered:
            self._jittered[camera.name] = _jitter_camera(camera, self.appearance.camera_offset)

    def camera_pose(self, camera: str, body_names: Sequence[str], positions: np.ndarray, quats: np.ndarray) -> np.ndarray:
        """4x4 optical-frame-to-world pose of a camera (jitter included) at the given body poses."""
        cam = self.camera(camera)
        local = pose_matrix(cam.pos, cam.quat)
        if cam.body is None:
            return local
        names = tuple(body_names)
        i = names.index(cam.body) if cam.body in names else None
        if i is None:
            raise RenderError(f"camera {camera!r} rides on body {cam.body!r}, which is not among the posed bodies")
        return pose_matrix(positions[i], quats[i]) @ local

    def render(
        self,
        body_names: Sequence[str],
        positions: np.ndarray,
        quats: np.ndarray,
        camera_names: Iterable[str] | None = None,
    ) -> dict[str, Frame]:
        """RGB, depth and segmentation for each camera (all by default) at these body poses
        (``backend.body_names``, ``*backend.body_poses()``). One draw pass per camera."""
        names = self._camera_list(camera_names)
        rows, pos, quat = self._pose_rows(body_names, positions, quats)
        self._activate()
        self._upload_poses(rows)
        self.drawn_triangles = 0
        shadow_vp = self._shadow_pass(rows, 0)
        out = {}
        for name in names:
            cam = self.camera(name)
            fbo = self._framebuffer(cam.width, cam.height)
            self._clear(fbo, (0, 0, cam.width, cam.height))
            self._draw(cam, self._cam_world(cam, pos, quat), (0, 0, cam.width, cam.height), 0, shadow_vp, rows)
            out[name] = self._read(fbo, (0, 0, cam.width, cam.height))
        return out

    def render_from(self, backend: Any, camera_names: Iterable[str] | None = None) -> dict[str, Frame]:
        """:meth:`render` at the poses a backend reports now (through the backend protocol)."""
        positions, quats = backend.body_poses()
        return self.render(backend.body_names, positions, quats, camera_names)

    def render_tiled(
        self,
        body_names: Sequence[str],
        positions: np.ndarray,
        quats: np.ndarray,
        camera_names: Iterable[str] | None = None,
    ) -> TiledFrames:
        """Every (state, camera) pair into one tiled framebuffer, read back once per output.

        ``positions`` (N, 3) and ``quats`` (N, 4) give one state; (B, N, 3) and (B, N, 4)
        give B states of this scene (B envs of a vector env sharing one world), each seen
        by every camera. Tiles are laid out row-major in a near-square grid of cells as
        large as the largest camera.
        """
        names = self._camera_list(camera_names)
        rows, pos, quat = self._pose_rows(body_names, positions, quats)
        batch = rows.shape[0] if rows.ndim == 4 else 1
        rows = rows.reshape(batch, len(self.body_names), 3, 4)
        pos = pos.reshape(batch, len(self.body_names), 3)
        quat = quat.reshape(batch, len(self.body_names), 4)
        cell_w = max(self.cameras[n].width for n in names)
        cell_h = max(self.cameras[n].height for n in names)
        stride = self._stride_for(rows)
        count = batch * len(names)
        cols = max(1, math.ceil(math.sqrt(count * cell_h / cell_w)))
        cols = min(cols, count)
        grid_rows = math.ceil(count / cols)
        width, height = cols * cell_w, grid_rows * cell_h
        limit = self._gl["max_size"]
        if width > limit or height > limit:
            raise RenderError(f"tiled framebuffer {width}x{height} exceeds the GL limit {limit}; render fewer tiles per call")
        self._activate()
        self._upload_poses(rows)
        self.drawn_triangles = 0
        fbo = self._framebuffer(width, height)
        self._clear(fbo, (0, 0, width, height))
        tiles: dict[tuple[int, str], tuple[int, int, int, int]] = {}
        k = 0
        for b in range(batch):
            shadow_vp = self._shadow_pass(rows[b], b * stride)
            fbo.use()
            for name in names:
                cam = self.camera(name)
                r, c = divmod(k, cols)
                y0, x0 = r * cell_h, c * cell_w
                self._draw(cam, self._cam_world(cam, pos[b], quat[b]), (x0, y0, cam.width, cam.height), b * stride, shadow_vp, rows[b])
                tiles[(b, name)] = (y0, x0, cam.height, cam.width)
                k += 1
        frame = self._read(fbo, (0, 0, width, height))
        return TiledFrames(frame.rgb, frame.depth, frame.seg, tiles)

    def spaces(self, camera: str) -> dict[str, Any]:
        """gymnasium Boxes for a camera's ``rgb``, ``depth`` and ``seg`` observations."""
        import gymnasium

        cam = self.cameras[camera]
        hw = (cam.height, cam.width)
        return {
            "rgb": gymnasium.spaces.Box(0, 255, hw + (3,), np.uint8),
            "depth": gymnasium.spaces.Box(0.0, np.inf, hw, np.float32),
            "seg": gymnasium.spaces.Box(0, self.ids - 1 + self.max_distractors, hw, np.int32),
        }

    # -- visual randomization ---------------------------------------------------------------
    def visual_param_names(self) -> list[str]:
        """The names :meth:`set_appearance` takes for this scene."""
        return self._spec.names()

    def nominal_visual(self) -> dict[str, float | str]:
        """The values that draw the scene as built."""
        return self._spec.nominal()

    def set_appearance(self, values: Mapping[str, Any], *, missing_bodies: str = "error") -> Appearance:
        """Apply visual parameters (names in :mod:`simsuite.render.appearance`); names left
        out take their nominal values. Uploads a few small arrays and uniforms: no geometry,
        context or physics changes (the first call with per-body looks or distractors also
        compiles their shader programs, and a new image file is read once). Returns the
        validated :class:`Appearance` (also :attr:`appearance`). An unknown name, a body not
        in the scene (unless ``missing_bodies="ignore"``) or a value outside its limits
        raises :class:`~simsuite.render.appearance.AppearanceError` naming the field, and
        leaves the appearance in force unchanged."""
        app = Appearance.from_values(self._spec, values, missing_bodies=missing_bodies, max_distractors=self.max_distractors)
        jittered = {name: _jitter_camera(cam, app.camera_offset) for name, cam in self.cameras.items()} if app.camera_jittered else {}
        self._activate()
        look = self._look_rows(app)
        self.appearance = app
        self._jittered = jittered
        self._camera_cache.clear()  # camera jitter and lights are baked into the cached views
        self._look_active = bool(app.bodies)
        mask = 0
        for lk in app.bodies.values():
            mask |= _MODE_BITS[lk.mode]
        self._look_suffix = f"+look:{mask}" if self._look_active else ""
        self._set_lights(app)
        if app.distractors[0] > 0 and self._distractor_group is not None:
            self._distractor_rows = self._distractor_poses(app, look)
            self._program("distractor")
        else:
            self._distractor_rows = None
        if self._look_active:
            for variant in {v for v, _, _, _ in self._gl["draws"]}:
                self._program(variant + self._look_suffix)
        if self._look_active or self._distractor_rows is not None:
            self._upload_look(look)
        return app

    def close(self) -> None:
        """Free the GL objects and the context. Idempotent."""
        if self._closed:
            return
        self._closed = True
        self._finalizer()

    @property
    def closed(self) -> bool:
        return self._closed

    def __enter__(self) -> "Renderer":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- scene -> vertex arrays ------------------------------------------------------------
    def _check_new_camera(self, cam: Camera) -> None:
        check_camera(cam)
        if cam.name in self.cameras:
            raise ValueError(f"duplicate camera name {cam.name!r}")
        if cam.body is not None and cam.body not in self._row:
            raise ValueError(f"camera {cam.name!r}: unknown body {cam.body!r}")

    def _light_list(self, lights: Sequence[Light]) -> list[Light]:
        if len(lights) > MAX_LIGHTS:
            raise ValueError(f"the renderer draws at most {MAX_LIGHTS} lights; the scene has {len(lights)}")
        return list(lights)

    def _build_geometry(self) -> dict[tuple[str | None, bool], "_Group"]:
        """Vertices (body frame) and triangles, grouped by (texture file or None, cullable)."""
        materials = {m.name: m for m in self.scene.materials}
        groups: dict[tuple[str | None, bool], _Group] = {}
        self._body_radius = np.zeros(len(self.body_names))
        lo = np.full((len(self.body_names), 3), np.inf)
        hi = np.full((len(self.body_names), 3), -np.inf)
        for i, (body, _, _) in enumerate(self.scene.walk()):
            for geom in body.geoms:
                if not geom.visible:
                    continue
                mat = materials.get(geom.material) if geom.material else None
                if geom.material and mat is None:
                    raise ValueError(f"geom {geom.name!r}: unknown material {geom.material!r}")
                rgba = mat.rgba if mat is not None else geom.rgba
                if rgba[3] <= 0:
                    continue
                texture = str(self.scene.resolve_mesh(mat.texture)) if mat is not None and mat.texture else None
                repeat = mat.texrepeat if mat is not None else (1.0, 1.0)
                levels = self._geom_levels(geom)
                rot, gpos = quat_to_mat(geom.quat), np.asarray(geom.pos, float)
                color = np.clip(np.round(np.asarray(rgba) * 255), 0, 255).astype(np.uint8)
                parts = []
                for level in levels:
                    mesh = level.mesh
                    p, n, uv = shapes.transformed(mesh, rot, gpos, repeat)
                    v = np.empty(len(p), _VERTEX_DTYPE)
                    v["pos"], v["normal"], v["uv"], v["color"], v["body"] = p, n, uv, color, i
                    parts.append((v, mesh.indices))
                full = parts[0][0]["pos"]
                infinite = geom.type == "plane" and min(geom.size or (0.0,)) <= 0
                centre = (full.min(0) + full.max(0)) / 2 if len(full) else np.zeros(3)
                radius = float(np.linalg.norm(full - centre, axis=1).max()) if len(full) else 0.0
                if not infinite:
                    self._body_radius[i] = max(self._body_radius[i], float(np.linalg.norm(full, axis=1).max()))
                    lo[i], hi[i] = np.minimum(lo[i], full.min(0)), np.maximum(hi[i], full.max(0))
                group = groups.setdefault((texture, levels[0].mesh.closed), _Group())
                if len(parts) == 1:
                    group.static.append(parts[0])
                else:
                    group.lod.append(_LodGeom(i, centre, radius, parts, np.array([lv.error_m for lv in levels])))
        # each body's longest axis in its frame (x where it has no finite extent): gradients run along it
        extent = np.where(np.isfinite(hi - lo), hi - lo, 0.0)
        self._body_axis = np.eye(3, dtype=np.float32)[np.argmax(extent, axis=1)] if len(extent) else np.zeros((0, 3), np.float32)
        return groups

    def _geom_levels(self, geom) -> list[shapes.Level]:
        """The full mesh, and coarser ones with their errors when level of detail is on
        (meshes and curved primitives)."""
        if self.lod is not None:
            if geom.type == "mesh":
                path = str(self.scene.resolve_mesh(geom.mesh).resolve())
                return list(shapes.mesh_lods(path, tuple(float(v) for v in geom.mesh_scale)))
            if geom.type in ("sphere", "capsule", "cylinder"):
                return list(shapes.primitive_lods(geom.type, tuple(float(v) for v in geom.size)))
        return [shapes.Level(self._geom_mesh(geom), 0.0)]

    def _geom_mesh(self, geom) -> shapes.Mesh:
        s = geom.size
        if geom.type == "box":
            return shapes.box(tuple(s))
        if geom.type == "sphere":
            return shapes.sphere(s[0])
        if geom.type == "capsule":
            return shapes.capsule(s[0], s[1])
        if geom.type == "cylinder":
            return shapes.cylinder(s[0], s[1])
        if geom.type == "plane":
            if len(s) < 2 or min(s) <= 0:
                return shapes.infinite_plane(self.far_m)
            return shapes.plane(s[0], s[1])
        if geom.type == "mesh":
            if not geom.mesh:
                raise ValueError(f"geom {geom.name!r}: a mesh geom needs a mesh file")
            path = self.scene.resolve_mesh(geom.mesh).resolve()
            return shapes.mesh_file(str(path), tuple(float(v) for v in geom.mesh_scale))
        raise ValueError(f"geom {geom.name!r}: cannot draw type {geom.type!r}")

    # -- GL setup ---------------------------------------------------------------------------
    def _setup_gl(self, geometry, ambient: float, headlight: float, specular: float, shadow_map_px: int) -> None:
        import moderngl

        from simsuite.render.images import load_texture

        ctx, gl = self._ctx, self._gl
        gl["max_size"] = int(ctx.info["GL_MAX_RENDERBUFFER_SIZE"])
        lights = self._lights
        self._shadow_light = -1
        if self.shadows and lights:
            casting = [i for i, light in enumerate(lights) if light.cast_shadow]
            self._shadow_light = casting[0] if casting else 0
        # untextured first, then by texture; culled (closed) before two-sided within each
        keys = sorted(geometry, key=lambda k: (k[0] is not None, k[0] or "", not k[1]))
        verts, indices = _Layout(), []
        for key in keys:
            geometry[key].lay_out(verts, indices)
        verts_arr = np.concatenate(verts.arrays) if verts.arrays else np.zeros(0, _VERTEX_DTYPE)
        scene_indices = indices
        indices = np.concatenate(indices) if indices else np.zeros(0, np.uint32)
        #: triangles at full detail
        self.triangles = int(sum(geometry[k].full[1] for k in keys) // 3)
        self._groups = [geometry[k] for k in keys]
        gl["draws"] = []  # (program variant, texture or None, cull back faces, group)
        gl["programs"] = {}
        gl["poses"], gl["pose_rows"], gl["fbos"] = None, 0, {}
        # lights in the world, as (direction of travel, 0) or (position, 1); moved to each camera's frame per draw
        self._light_world = np.zeros((max(len(lights), 1), 4))
        self._light_col = np.zeros((max(len(lights), 1), 3), np.float32)
        for i, light in enumerate(lights):
            if light.directional:
                d = np.asarray(light.direction, float)
                self._light_world[i] = (*(d / max(np.linalg.norm(d), 1e-12)), 0.0)
            else:
                self._light_world[i] = (*light.pos, 1.0)
            self._light_col[i] = light.diffuse
        self._nominal_lights = (self._light_world.copy(), self._light_col.copy())
        self._shading = (ambient, headlight, specular)
        self._ambient = (ambient, headlight)
        self._distractor_group = self._distractor_geometry(verts, scene_indices) if self.max_distractors and indices.size else None
        if self._distractor_group is not None:  # appended after the scene's geometry: its index ranges do not move
            verts_arr = np.concatenate(verts.arrays)
            indices = np.concatenate(scene_indices)
        if indices.size:
            gl["vbo"] = ctx.buffer(verts_arr.tobytes())
            gl["ibo"] = ctx.buffer(indices.astype(np.uint32).tobytes())
        textures: dict[str, Any] = {}
        for texture, closed in keys:
            variant = "textured" if texture is not None else "plain"
            self._program(variant)
            tex = None
            if texture is not None:
                tex = textures.get(texture)
                if tex is None:
                    img = load_texture(texture)
                    tex = ctx.texture((img.shape[1], img.shape[0]), 4, np.ascontiguousarray(img[::-1]).tobytes())
                    tex.build_mipmaps()
                    tex.filter = (moderngl.LINEAR_MIPMAP_LINEAR, moderngl.LINEAR)
                    tex.repeat_x = tex.repeat_y = True
                    textures[texture] = tex
            gl["draws"].append((variant, tex, closed, geometry[(texture, closed)]))
        gl["textures"] = list(textures.values())
        if self._shadow_light >= 0 and indices.size:
            shadow_tex = ctx.depth_texture((shadow_map_px, shadow_map_px))
            shadow_tex.compare_func = "<="
            shadow_tex.filter = (moderngl.LINEAR, moderngl.LINEAR)
            shadow_tex.repeat_x = shadow_tex.repeat_y = False
            gl["shadow_tex"] = shadow_tex
            gl["shadow_fbo"] = ctx.framebuffer(depth_attachment=shadow_tex)
            sprog = ctx.program(vertex_shader=shaders.SHADOW_VERTEX, fragment_shader=shaders.SHADOW_FRAGMENT)
            sprog["u_poses"].value = 0
            gl["shadow_prog"] = sprog
            gl["shadow_vao"] = _vertex_array(ctx, sprog, gl["vbo"], gl["ibo"])
        f_ptr, i_ptr = ctypes.POINTER(ctypes.c_float), ctypes.POINTER(ctypes.c_int)
        gl["clear_f"] = gl_function("glClearBufferfv", None, ctypes.c_uint, ctypes.c_int, f_ptr)
        gl["clear_i"] = gl_function("glClearBufferiv", None, ctypes.c_uint, ctypes.c_int, i_ptr)
        # counts (int32) and byte offsets (pointer-sized) as addresses of numpy arrays
        gl["multi_draw"] = gl_function("glMultiDrawElements", None, ctypes.c_uint, ctypes.c_void_p, ctypes.c_uint, ctypes.c_void_p, ctypes.c_int)
        gl["bg"] = (ctypes.c_float * 4)(*self.background, 1.0)
        gl["far"] = (ctypes.c_float * 4)(math.inf, 0.0, 0.0, 0.0)
        gl["zero"] = (ctypes.c_int * 4)(0, 0, 0, 0)
        gl["one"] = (ctypes.c_float * 1)(1.0)
        ctx.enable(moderngl.DEPTH_TEST)
        ctx.disable(moderngl.BLEND)
        # The optical frame maps to window coordinates with y down the image, which mirrors
        # the picture relative to GL's y-up convention: outward faces wind clockwise there.
        ctx.front_face = "cw"
        ctx.cull_face = "back"
        self._culling: bool | None = None

    def _program(self, variant: str):
        """The program, vertex array and per-camera uniforms of a variant ("plain",
        "textured", either + "+look:<pattern mask>", or "distractor"), compiled on first use."""
        gl = self._gl
        found = gl["programs"].get(variant)
        if found is not None:
            return found
        ctx, lights = self._ctx, self._lights
        ambient, headlight, specular = self._shading
        textured = variant.startswith("textured")
        look = "+look:" in variant or variant == "distractor"
        base = len(self.body_names) if variant == "distractor" else -1
        patterns = 7 if variant == "distractor" else int(variant.split(":")[1]) if look else 0  # distractors: checker, noise, gradient
        fragment = shaders.fragment([light.directional for light in lights], textured, self._shadow_light, specular > 0, look, patterns)
        prog = ctx.program(vertex_shader=shaders.vertex(textured, look, base, patterns), fragment_shader=fragment)
        vao = _vertex_array(ctx, prog, gl["vbo"], gl["ibo"])
        values = {"u_poses": 0, "u_tex": 1, "u_shadow_map": 2, "u_look": 3, "u_images": 4, "u_specular": specular}
        for name, value in values.items():
            if name in prog:
                prog[name].value = value
        names = ("u_view", "u_proj", "u_center", "u_focal", "u_pose_offset", "u_light_pos", "u_light_from_view", "u_light_color", "u_ambient", "u_headlight")
        found = gl["programs"][variant] = (prog, vao, {k: prog[k] for k in names if k in prog})
        self._write_light_uniforms(found[2])
        return found

    def _write_light_uniforms(self, u: dict) -> None:
        if "u_light_color" in u:
            u["u_light_color"].write(self._light_col.astype(np.float32).tobytes())
        if "u_ambient" in u:
            u["u_ambient"].value = (self._ambient[0],) * 3
        if "u_headlight" in u:
            u["u_headlight"].value = (self._ambient[1],) * 3

    def _set_lights(self, app: Appearance) -> None:
        world, col = (a.copy() for a in self._nominal_lights)
        key = self._spec.key_light
        if key >= 0 and key < len(self._lights):
            if app.light_direction is not None:
                world[key] = (*app.light_direction, 0.0)
            if app.light_diffuse is not None:
                col[key] = app.light_diffuse
        ambient, headlight, _ = self._shading
        scale = app.ambient_scale
        self._light_world, self._light_col = world, col
        self._ambient = (ambient * scale, headlight * scale) if scale != 1.0 else (ambient, headlight)
        for _, _, u in self._gl["programs"].values():
            self._write_light_uniforms(u)

    def _look_rows(self, app: Appearance) -> np.ndarray:
        """Per-row appearance texels: (rgb, mode), (rgb2, scale_m), (axis, image layer)."""
        n = len(self.body_names)
        look = np.zeros((n + 3 * self.max_distractors, 3, 4), np.float32)
        look[:n, 2, :3] = self._body_axis
        layers = self._image_layers([(f"{b}.texture", lk.image) for b, lk in app.bodies.items() if lk.image]) if any(lk.image for lk in app.bodies.values()) else {}
        for body, lk in app.bodies.items():
            i = self._row[body]
            look[i, 0] = (*lk.color, lk.mode)
            look[i, 1] = (*lk.color2, lk.scale_m)
            if lk.image:
                look[i, 2, 3] = layers[lk.image]
        return look

    def _image_layers(self, wanted: list[tuple[str, str]]) -> dict[str, int]:
        """Layers of the image texture array for these (field, path) pairs, loading new files
        (resampled to IMAGE_TEXTURE_PX square) into the least recently used layers."""
        import moderngl

        from simsuite.render.images import load_texture

        paths = list(dict.fromkeys(path for _, path in wanted))
        if len(paths) > IMAGE_LAYERS:
            raise AppearanceError(f"at most {IMAGE_LAYERS} different image textures at once, got {len(paths)}")
        images: list[tuple[str, np.ndarray]] = []
        for fld, path in wanted:
            if path not in self._images and path not in dict(images):
                try:
                    images.append((path, _resample(load_texture(path), IMAGE_TEXTURE_PX)))
                except (OSError, ValueError) as exc:
                    raise AppearanceError(f"visual parameter {fld!r}: cannot read image {path!r}: {exc}") from None
        gl = self._gl
        if "images" not in gl:
            tex = self._ctx.texture_array((IMAGE_TEXTURE_PX, IMAGE_TEXTURE_PX, IMAGE_LAYERS), 4)
            tex.filter = (moderngl.LINEAR_MIPMAP_LINEAR, moderngl.LINEAR)
            tex.repeat_x = tex.repeat_y = True
            gl["images"] = tex
        for path, img in images:
            free = sorted(set(range(IMAGE_LAYERS)) - set(self._images.values()))
            if free:
                layer = free[0]
            else:  # the least recently used file not wanted now
                old = next(p for p in self._images if p not in paths)
                layer = self._images.pop(old)
            gl["images"].write(img.tobytes(), viewport=(0, 0, layer, IMAGE_TEXTURE_PX, IMAGE_TEXTURE_PX, 1))
            self._images[path] = layer
        if images:
            gl["images"].build_mipmaps()
        for path in paths:  # most recently used last
            self._images[path] = self._images.pop(path)
        return {path: self._images[path] for path in paths}

    def _distractor_poses(self, app: Appearance, look: np.ndarray) -> np.ndarray:
        """Pose rows of every distractor shape (zero: hidden), filling their look rows."""
        count, seed, size = app.distractors
        n = len(self.body_names)
        rows = np.zeros((3 * self.max_distractors, 3, 4), np.float32)
        fixed = np.array([c.pos for c in self.cameras.values() if c.body is None], float).reshape(-1, 3)
        d = distractor_layout(count, seed, size, self._spec.region, fixed, self.max_distractors)
        k = np.arange(count)
        r = 3 * k + d["shape"]
        posed = quats_to_rows(d["pos"], d["quat"])
        posed[:, :, :3] *= d["half"][:, None, :]  # columns scaled: R @ diag(half)
        rows[r] = posed
        slot = look[n:].reshape(self.max_distractors, 3, 3, 4)[:count]  # (slot, shape, texel, 4)
        slot[:, :, 0, :3] = d["color"][:, None]
        slot[:, :, 0, 3] = d["mode"][:, None]
        slot[:, :, 1, :3] = d["color2"][:, None]
        slot[:, :, 1, 3] = d["scale_m"][:, None]
        slot[:, :, 2, :3] = d["half"][:, None]
        return rows

    def _upload_look(self, look: np.ndarray) -> None:
        gl = self._gl
        if "look" not in gl:
            import moderngl

            tex = self._ctx.texture((3, len(look)), 4, dtype="f4")
            tex.filter = (moderngl.NEAREST, moderngl.NEAREST)
            gl["look"] = tex
        gl["look"].write(np.ascontiguousarray(look, np.float32).tobytes())

    def _distractor_geometry(self, verts: "_Layout", indices: list[np.ndarray]) -> "_Group":
        """Unit box, sphere and cylinder per distractor slot (rows n + 3k + shape), laid out
        after the scene's geometry."""
        n = len(self.body_names)
        meshes = (shapes.box((1.0, 1.0, 1.0)), shapes.sphere(1.0, (24, 12)), shapes.cylinder(1.0, 1.0, 24))
        group = _Group()
        for k in range(self.max_distractors):
            for s, mesh in enumerate(meshes):
                v = np.zeros(len(mesh.positions), _VERTEX_DTYPE)
                v["pos"], v["normal"], v["uv"], v["color"], v["body"] = mesh.positions, mesh.normals, mesh.uvs, 255, n + 3 * k + s
                group.static.append((v, mesh.indices))
        group.lay_out(verts, indices)
        return group

    def _stride_for(self, rows: np.ndarray) -> int:
        return len(self.body_names) + (0 if self._distractor_rows is None else len(self._distractor_rows))

    # -- per frame -------------------------------------------------------------------------
    def _activate(self) -> None:
        if self._closed:
            raise RenderError("renderer is closed")
        make_current(self._ctx)

    def _camera_list(self, camera_names: Iterable[str] | None) -> list[str]:
        if camera_names is None:
            return list(self.cameras)
        names = [camera_names] if isinstance(camera_names, str) else list(camera_names)
        unknown = [n for n in names if n not in self.cameras]
        if unknown:
            raise KeyError(f"unknown cameras {unknown}; this renderer has {list(self.cameras)}")
        return names

    def _pose_rows(self, body_names: Sequence[str], positions, quats) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Poses reordered to the renderer's body order, as [R | t] rows."""
        key = body_names if isinstance(body_names, tuple) else tuple(body_names)
        perm = self._perm.get(key, False)
        if perm is False:
            perm = self._permutation(key)
            self._perm[key] = perm
        pos = np.asarray(positions)
        quat = np.asarray(quats)
        n = len(key)
        if pos.shape[-2:] != (n, 3) or quat.shape[-2:] != (n, 4) or pos.shape[:-1] != quat.shape[:-1] or pos.ndim > 3:
            raise ValueError(f"positions must be ([B,] {n}, 3) and quats ([B,] {n}, 4) for {n} body names, got {pos.shape} and {quat.shape}")
        if perm is not None:
            pos, quat = pos[..., perm, :], quat[..., perm, :]
        return quats_to_rows(pos, quat), pos, quat

    def _permutation(self, names: tuple[str, ...]) -> np.ndarray | None:
        if names == self.body_names:
            return None
        where = {n: i for i, n in enumerate(names)}
        missing = [n for n in self.body_names if n not in where]
        if missing:
            raise ValueError(f"poses lack bodies of the rendered scene: {missing[:10]}")
        return np.array([where[n] for n in self.body_names], np.intp)

    def _upload_poses(self, rows: np.ndarray) -> None:
        gl, ctx = self._gl, self._ctx
        if self._distractor_rows is not None:  # each state's bodies, then the distractor shapes
            extra = self._distractor_rows
            if rows.ndim == 4:
                extra = np.broadcast_to(extra, (rows.shape[0],) + extra.shape)
            rows = np.concatenate([rows, extra], axis=-3)
        if self._look_active or self._distractor_rows is not None:
            gl["look"].use(3)
            if "images" in gl:
                gl["images"].use(4)
        n_rows = rows.size // 12
        if gl["poses"] is None or gl["pose_rows"] < n_rows:
            if gl["poses"] is not None:
                gl["poses"].release()
            capacity = max(n_rows, 1)
            tex = ctx.texture((3, capacity), 4, dtype="f4")
            import moderngl

            tex.filter = (moderngl.NEAREST, moderngl.NEAREST)
            gl["poses"], gl["pose_rows"] = tex, capacity
        if n_rows:
            gl["poses"].write(np.ascontiguousarray(rows, np.float32).tobytes(), viewport=(0, 0, 3, n_rows))
        gl["poses"].use(0)

    def _cam_world(self, cam: Camera, pos: np.ndarray, quat: np.ndarray) -> np.ndarray:
        local = self._static(cam)["local"]
        if cam.body is None:
            return local
        i = self._row[cam.body]
        return pose_matrix(pos[i], quat[i]) @ local

    def _static(self, cam: Camera) -> dict[str, Any]:
        """What does not change between frames for a camera (cached; cameras are fixed specs)."""
        key = (cam.name, cam.pos, cam.quat, cam.width, cam.height, cam.fovy_deg, cam.body)
        cached = self._camera_cache.get(key)
        if cached is None:
            f = focal_px(cam)
            cached = {
                "local": pose_matrix(cam.pos, cam.quat),
                "proj": projection_matrix(cam, self.near_m, self.far_m).T.astype(np.float32).tobytes(),
                "focal": (f, f),
                "view": None,  # (view bytes, lights bytes, view matrix) for a fixed camera
            }
            self._camera_cache[key] = cached
        return cached

    def _framebuffer(self, width: int, height: int):
        fbos = self._gl["fbos"]
        fbo = fbos.get((width, height))
        if fbo is None:
            ctx = self._ctx
            attachments = [
                ctx.renderbuffer((width, height), 4, dtype="f1"),
                ctx.renderbuffer((width, height), 1, dtype="f4"),
                ctx.renderbuffer((width, height), 1, dtype="i4"),
            ]
            depth = ctx.depth_renderbuffer((width, height))
            fbo = ctx.framebuffer(attachments, depth)
            fbos[(width, height)] = fbo
            self._gl.setdefault("fbo_parts", []).extend(attachments + [depth])
        return fbo

    def _clear(self, fbo, viewport: tuple[int, int, int, int]) -> None:
        gl = self._gl
        fbo.use()
        self._ctx.viewport = viewport
        gl["clear_f"](_GL_COLOR, 0, gl["bg"])
        gl["clear_f"](_GL_COLOR, 1, gl["far"])
        gl["clear_i"](_GL_COLOR, 2, gl["zero"])
        gl["clear_f"](_GL_DEPTH, 0, gl["one"])

    def _draw(self, cam: Camera, cam_world: np.ndarray, viewport, pose_offset: int, shadow_vp: np.ndarray | None, rows: np.ndarray) -> None:
        gl = self._gl
        if not gl["draws"]:
            return
        self._ctx.viewport = viewport
        static = self._static(cam)
        if cam.body is None and static["view"] is not None:
            view_b, lights_b, view = static["view"]
        else:
            view = view_matrix(cam_world)
            view_b = view.T.astype(np.float32).tobytes()
            lw = self._light_world
            lights = np.empty_like(lw)
            lights[:, :3] = lw[:, :3] @ view[:3, :3].T + lw[:, 3:] * view[:3, 3]
            lights[:, 3] = lw[:, 3]
            lights_b = lights.astype(np.float32).tobytes()
            if cam.body is None:
                static["view"] = (view_b, lights_b, view)
        center = (viewport[0] + cam.width / 2, viewport[1] + cam.height / 2)
        light_from_view = None
        if shadow_vp is not None:
            light_from_view = (shadow_vp @ cam_world).T.astype(np.float32).tobytes()
            gl["shadow_tex"].use(2)
        active = self._active_programs()
        for _, _, u in active:
            u["u_view"].write(view_b)
            u["u_proj"].write(static["proj"])
            u["u_center"].value = center
            u["u_focal"].value = static["focal"]
            u["u_pose_offset"].value = pose_offset
            if "u_light_pos" in u:
                u["u_light_pos"].write(lights_b)
            if light_from_view is not None and "u_light_from_view" in u:
                u["u_light_from_view"].write(light_from_view)
        suffix = self._look_suffix
        for variant, tex, cull, group in gl["draws"]:
            ranges = group.ranges(rows, view, static["focal"][0], self.lod, self.near_m) if self.lod is not None and group.lod else group.full_ranges
            if tex is not None:
                tex.use(1)
            self._set_culling(cull)
            self._draw_ranges(gl["programs"][variant + suffix][1], ranges)
        if self._distractor_rows is not None:
            self._set_culling(True)
            first, count = self._distractor_group.full
            gl["programs"]["distractor"][1].render(4, vertices=count, first=first)

    def _draw_ranges(self, vao, ranges: np.ndarray) -> None:
        """(K, 2) index ranges (first, count) of one vertex array: the first through moderngl
        (which binds the program and vertex array), the rest in one glMultiDrawElements call."""
        if not len(ranges):
            return
        first, count = ranges[0].tolist()
        vao.render(_GL_TRIANGLES, vertices=count, first=first)
        if len(ranges) > 1:
            counts = np.ascontiguousarray(ranges[1:, 1], np.int32)
            offsets = np.ascontiguousarray(ranges[1:, 0] * 4, np.uint64)  # bytes into the uint32 index buffer
            self._gl["multi_draw"](_GL_TRIANGLES, counts.ctypes.data, _GL_UNSIGNED_INT, offsets.ctypes.data, len(counts))
        self.drawn_triangles += int(ranges[:, 1].sum()) // 3

    def _active_programs(self) -> list:
        programs = self._gl["programs"]
        suffix = self._look_suffix
        names = {v + suffix for v, _, _, _ in self._gl["draws"]}
        if self._distractor_rows is not None:
            names.add("distractor")
        return [programs[n] for n in names]

    def _set_culling(self, cull: bool) -> None:
        if cull != self._culling:
            import moderngl

            (self._ctx.enable if cull else self._ctx.disable)(moderngl.CULL_FACE)
            self._culling = cull

    def _read(self, fbo, viewport: tuple[int, int, int, int]) -> Frame:
        w, h = viewport[2], viewport[3]
        rgba = np.empty((h, w, 4), np.uint8)
        depth = np.empty((h, w), np.float32)
        seg = np.empty((h, w), np.int32)
        # RGBA as stored, alpha dropped here: Mesa's RGBA -> RGB packing on readback costs
        # about as much as rasterizing a small frame
        fbo.read_into(rgba, viewport=viewport, components=4, attachment=0, alignment=1)
        rgb = _drop_alpha(rgba)
        fbo.read_into(depth, viewport=viewport, components=1, attachment=1, alignment=1, dtype="f4")
        fbo.read_into(seg, viewport=viewport, components=1, attachment=2, alignment=1, dtype="i4")
        return Frame(rgb, depth, seg)

    # -- shadows ---------------------------------------------------------------------------
    def _shadow_pass(self, rows: np.ndarray, pose_offset: int) -> np.ndarray | None:
        """Render the shadow map for one state; returns the light's view-projection."""
        if self._shadow_light < 0 or "shadow_vao" not in self._gl:
            return None
        gl = self._gl
        rows = rows.reshape(-1, len(self.body_names), 3, 4)[0]
        centres = rows[:, :, 3]
        lo = (centres - self._body_radius[:, None]).min(0)
        hi = (centres + self._body_radius[:, None]).max(0)
        centre = (lo + hi) / 2
        radius = max(float(np.linalg.norm(hi - lo)) / 2, 0.1)
        light = self._lights[self._shadow_light]
        if light.directional:
            d = self._light_world[self._shadow_light, :3]  # unit; the key light's may be randomized
            eye = centre - d * radius * 2
            view = _look_at_gl(eye, centre)
            proj = _ortho(radius, radius * 0.5, radius * 3.5)
        else:
            eye = np.asarray(light.pos, float)
            dist = float(np.linalg.norm(centre - eye))
            half = math.asin(min(radius / dist, 0.95)) if dist > 1e-6 else math.radians(60)
            view = _look_at_gl(eye, centre if dist > 1e-6 else eye + [0, 0, -1])
            proj = _perspective(2 * half, max(dist - radius, 0.02), dist + radius)
        vp = proj @ view
        sprog = gl["shadow_prog"]
        sprog["u_light_vp"].write(vp.T.astype(np.float32).tobytes())
        sprog["u_pose_offset"].value = pose_offset
        fbo = gl["shadow_fbo"]
        fbo.use()
        size = gl["shadow_tex"].size
        self._ctx.viewport = (0, 0, *size)
        gl["clear_f"](_GL_DEPTH, 0, gl["one"])
        self._set_culling(False)
        for group in self._groups:
            gl["shadow_vao"].render(4, vertices=group.full[1], first=group.full[0])
        if self._distractor_rows is not None:
            first, count = self._distractor_group.full
            gl["shadow_vao"].render(4, vertices=count, first=first)
        return vp


class _Layout:
    """Vertex arrays appended in buffer order, with the running vertex count."""

    def __init__(self) -> None:
        self.arrays: list[np.ndarray] = []
        self.count = 0

    def add(self, verts: np.ndarray, tris: np.ndarray) -> np.ndarray:
        out = tris.ravel().astype(np.int64) + self.count
        self.arrays.append(verts)
        self.count += len(verts)
        return out.astype(np.uint32)


@dataclass
class _LodGeom:
    """A geom with levels of detail: body row, bounding sphere in the body frame, and per
    level the vertex and triangle arrays (before layout), the geometric error [m] and the
    index range (after layout)."""

    body: int
    centre: np.ndarray
    radius: float
    parts: list[tuple[np.ndarray, np.ndarray]]
    errors: np.ndarray
    ranges: list[tuple[int, int]] = field(default_factory=list)  # (first index, index count) per level


@dataclass
class _Group:
    """Geometry drawn with one program, texture and culling state. In the index buffer:
    static geoms, then every LOD geom's full level (so full detail is one range), then
    the coarser levels."""

    static: list[tuple[np.ndarray, np.ndarray]] = field(default_factory=list)
    lod: list[_LodGeom] = field(default_factory=list)
    full: tuple[int, int] = (0, 0)
    static_range: tuple[int, int] = (0, 0)

    def lay_out(self, verts: _Layout, indices: list[np.ndarray]) -> None:
        start = sum(len(i) for i in indices)
        for v, t in self.static:
            indices.append(verts.add(v, t))
        mid = sum(len(i) for i in indices)
        for g in self.lod:
            v, t = g.parts[0]
            first = sum(len(i) for i in indices)
            indices.append(verts.add(v, t))
            g.ranges = [(first, t.size)]
        end = sum(len(i) for i in indices)
        for g in self.lod:
            for v, t in g.parts[1:]:
                first = sum(len(i) for i in indices)
                indices.append(verts.add(v, t))
                g.ranges.append((first, t.size))
            g.parts = []  # uploaded: drop the CPU copy
        self.static, self.static_range, self.full = [], (start, mid - start), (start, end - start)
        self.full_ranges = np.array([self.full], np.int64)
        # the same, as arrays for one vectorized level choice per camera
        if self.lod:
            levels = max(len(g.ranges) for g in self.lod)
            self._bodies = np.array([g.body for g in self.lod])
            self._centres = np.array([[*g.centre, 1.0] for g in self.lod])  # homogeneous: rows [R | t] apply in one product
            self._radii = np.array([g.radius for g in self.lod])
            self._geoms = np.arange(len(self.lod))
            self._errors = np.full((len(self.lod), levels), np.inf)  # padding: never chosen
            self._ranges = np.zeros((len(self.lod), levels, 2), np.int64)
            for k, g in enumerate(self.lod):
                n = len(g.ranges)
                self._errors[k, :n] = g.errors
                self._ranges[k, :n] = g.ranges

    def ranges(self, rows: np.ndarray, view: np.ndarray, focal: float, lod: float, near_m: float) -> np.ndarray:
        """(K, 2) index ranges (first, count) to draw for one camera, adjacent ones merged:
        each LOD geom at its coarsest level whose error, seen at the nearest point of its
        bounding sphere, is at most ``lod`` pixels."""
        centres = np.einsum("gij,gj->gi", rows[self._bodies], self._centres)  # world [m]
        optical = centres @ view[:3, :3].T + view[:3, 3]
        depth = np.maximum(optical[:, 2] - self._radii, near_m)  # nearest possible optical z [m]
        # an error e at depth z moves a pixel by up to f·e/z on the optical axis, and by
        # sqrt(1 + tan²) times that at an angle off it: allowed e = lod·z / (f·sqrt(1 + tan²))
        d2 = depth * depth
        allowed_m = (lod / focal) * d2 / np.sqrt(d2 + optical[:, 0] ** 2 + optical[:, 1] ** 2)
        level = (self._errors <= allowed_m[:, None]).sum(1) - 1  # errors grow with the level; level 0 has 0
        chosen = self._ranges[self._geoms, level]
        if self.static_range[1]:
            chosen = np.concatenate([[self.static_range], chosen])
        fresh = np.ones(len(chosen), bool)  # a range that does not continue the one before
        np.not_equal(chosen[1:, 0], chosen[:-1, 0] + chosen[:-1, 1], out=fresh[1:])
        if fresh.all():
            return chosen
        starts = np.flatnonzero(fresh)
        merged = chosen[starts]
        merged[:, 1] = np.add.reduceat(chosen[:, 1], starts)
        return merged


def _drop_alpha(rgba: np.ndarray) -> np.ndarray:
    """(H, W, 4) -> contiguous (H, W, 3), one strided copy per channel: numpy copies a
    3-of-4-byte slice (``rgba[..., :3]``) element by element, 5-8x slower (0.3 ms at 128²)."""
    rgb = np.empty(rgba.shape[:-1] + (3,), np.uint8)
    for c in range(3):
        rgb[..., c] = rgba[..., c]
    return rgb


def _vertex_array(ctx, prog, vbo, ibo):
    """A VAO over the shared vertex buffer, skipping attributes the program compiled out."""
    fmt, names = [], []
    for token, size, name in _VERTEX_ATTRIBUTES:
        if name in prog:
            fmt.append(token)
            names.append(name)
        else:
            fmt.append(f"{size}x")
    return ctx.vertex_array(prog, [(vbo, " ".join(fmt), *names)], index_buffer=ibo, index_element_size=4)


def _jitter_camera(cam: Camera, offset: Sequence[float]) -> Camera:
    """The camera moved by (dx, dy, dz) [m] and turned by (droll, dpitch, dyaw) [rad] in its
    optical frame (about its z, x, y axes), with ``dfov`` [deg] added to its vertical fov."""
    from dataclasses import replace

    dx, dy, dz, droll, dpitch, dyaw, dfov = offset
    fovy = cam.fovy_deg + dfov
    if not 1.0 <= fovy <= 179.0:
        raise AppearanceError(f"visual parameter 'camera.dfov_deg': {dfov:g} puts camera {cam.name!r} at fovy {fovy:g} deg, outside [1, 179]")
    rot = quat_to_mat(cam.quat)
    pos = np.asarray(cam.pos, float) + rot @ np.array([dx, dy, dz])

    def about(axis: int, a: float) -> np.ndarray:
        c, s = math.cos(a), math.sin(a)
        i, j = [(1, 2), (2, 0), (0, 1)][axis]
        m = np.eye(3)
        m[i, i], m[i, j], m[j, i], m[j, j] = c, -s, s, c
        return m

    turned = rot @ about(2, droll) @ about(0, dpitch) @ about(1, dyaw)
    return replace(cam, pos=tuple(float(v) for v in pos), quat=mat_to_quat(turned), fovy_deg=float(fovy))


def _resample(img: np.ndarray, size: int) -> np.ndarray:
    """An (H, W, 4) image as (size, size, 4), bottom row first (GL's texture origin)."""
    try:
        from PIL import Image
    except ImportError:  # nearest neighbour
        h, w = img.shape[:2]
        out = img[(np.arange(size) * h // size)[:, None], (np.arange(size) * w // size)[None, :]]
    else:
        out = np.asarray(Image.fromarray(np.ascontiguousarray(img)).resize((size, size), Image.BILINEAR))
    return np.ascontiguousarray(out[::-1])


def _look_at_gl(eye: np.ndarray, target: np.ndarray) -> np.ndarray:
    f = target - eye
    f = f / np.linalg.norm(f)
    up = np.array([0.0, 0.0, 1.0]) if abs(f[2]) < 0.99 else np.array([0.0, 1.0, 0.0])
    s = np.cross(f, up)
    s /= np.linalg.norm(s)
    u = np.cross(s, f)
    m = np.eye(4)
    m[0, :3], m[1, :3], m[2, :3] = s, u, -f
    m[:3, 3] = -m[:3, :3] @ eye
    return m


def _ortho(half: float, near: float, far: float) -> np.ndarray:
    return np.array([[1 / half, 0, 0, 0], [0, 1 / half, 0, 0], [0, 0, -2 / (far - near), -(far + near) / (far - near)], [0, 0, 0, 1]])


def _perspective(fovy: float, near: float, far: float) -> np.ndarray:
    f = 1 / math.tan(fovy / 2)
    return np.array([[f, 0, 0, 0], [0, f, 0, 0], [0, 0, (far + near) / (near - far), 2 * far * near / (near - far)], [0, 0, -1, 0]])


def _release_gl(ctx, gl: dict) -> None:
    """Release every GL object, then the context (runs once: close, GC or exit)."""
    make_current(ctx)
    for prog, vao, _ in gl.pop("programs", {}).values():
        vao.release()
        prog.release()
    for key in ("shadow_vao", "vbo", "ibo", "shadow_prog", "poses", "shadow_fbo", "shadow_tex", "look", "images"):
        obj = gl.pop(key, None)
        if obj is not None:
            obj.release()
    for fbo in gl.pop("fbos", {}).values():
        fbo.release()
    for obj in gl.pop("fbo_parts", []) + gl.pop("textures", []):
        obj.release()
    release_context(ctx)
