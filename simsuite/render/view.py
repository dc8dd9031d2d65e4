"""CameraView: a renderer that follows an env's backend (what SimEnv wires in).

A :class:`CameraView` is made before any world exists (from camera specs) and builds its
:class:`~simsuite.render.renderer.Renderer` from ``backend.scene`` on first use, and again
whenever a reset compiled a new world (``backend.scene`` changed). It reads poses through
the backend protocol only. Camera specs:

- a :class:`~simsuite.scene.Camera` (fixed, or riding on a named body);
- the name of one of the scene's own cameras (``scene.cameras``);
- ``"overview"``: a fixed camera framing the scene as it is when the renderer is built;
- ``"chase:<body>"``: behind and above ``<body>``, riding on it;
- ``None`` (``"auto"``): the scene's first camera, else an overview, or a chase camera on
  the robot for worlds too large to overview (over 25 m across).

Views draw with level of detail by default (``lod=`` :data:`DEFAULT_LOD_PX`: at most one
pixel of screen-space geometric error, see :class:`Renderer`): a camera observation of a
detailed robot costs a fraction of full detail and no label moves by more than a pixel.
Pass ``lod=None`` for full detail (depth exact to the meshes).

Several cameras (``names`` and ``sizes`` give each its own name and image size):
:meth:`CameraView.frames` renders them all into one tiled framebuffer with one readback.

Typical wiring in an env::

    view = CameraView(["overview"], width=640, height=480)   # render_mode="rgb_array"
    rgb = view.frame(backend).rgb                              # after each reset/step
    view.close()                                               # in env.close()

Visual randomization: :meth:`CameraView.set_appearance` takes the same ``{name: value}``
dict as :meth:`Renderer.set_appearance` (names in :mod:`simsuite.render.appearance`), keeps
it and applies it to every renderer the view builds, so the values survive a reset that
compiles a new world. Names of bodies that the current world lacks are checked (field and
value) and then ignored, since worlds change between resets (a Grasp world with 2 objects
ignores ``object_4.color_r``); unknown fields, bad values and global names the world does
not offer are errors.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import numpy as np

from simsuite.render.appearance import MAX_DISTRACTORS, check_value
from simsuite.render.camera import chase_camera, overview_camera, scene_bounds
from simsuite.render.renderer import Frame, Renderer
from simsuite.scene import Camera

CameraSpec = Camera | str | None
DEFAULT_LOD_PX = 1.0  # screen-space error [px] of views' level of detail (None: full detail)
AUTO_CHASE_EXTENT_M = 25.0  # worlds wider than this get a chase camera by default
CHASE_CLASSES = ("robot", "ego", "vehicle")


class CameraView:
    """Cameras over whatever world an env's backend has compiled.

    Args:
        cameras: camera specs (see the module docstring); one spec or a list.
        width, height: image size for the cameras this view makes (overview, chase).
        names: a name per spec for the cameras drawn (default: the camera's own name).
        sizes: a (width, height) per spec, for every spec but a :class:`Camera` (which
            carries its own); default ``(width, height)`` for the cameras this view makes.
        **renderer_options: passed to :class:`Renderer` (``lod``, ``shadows``, ``device``...).
            ``lod`` defaults to :data:`DEFAULT_LOD_PX`; ``far_m`` to reaching past the whole
            world from the first camera.
    """

    def __init__(
        self,
        cameras: CameraSpec | Sequence[CameraSpec] = None,
        *,
        width: int = 640,
        height: int = 480,
        names: Sequence[str] | None = None,
        sizes: Sequence[tuple[int, int]] | None = None,
        **renderer_options: Any,
    ):
        self.specs: list[CameraSpec] = list(cameras) if isinstance(cameras, (list, tuple)) else [cameras]
        if not self.specs:
            raise ValueError("CameraView needs at least one camera spec")
        for label, given in (("names", names), ("sizes", sizes)):
            if given is not None and len(given) != len(self.specs):
                raise ValueError(f"CameraView: {len(given)} {label} for {len(self.specs)} camera specs")
        self.width, self.height = width, height
        self.given_names = list(names) if names is not None else None
        self.sizes = [(int(w), int(h)) for w, h in sizes] if sizes is not None else None
        self.options = {"lod": DEFAULT_LOD_PX, **renderer_options}
        self.renderer: Renderer | None = None
        self.scene = None
        self.names: list[str] = []
        self.appearance: dict[str, Any] = {}

    def set_appearance(self, values: Mapping[str, Any]) -> None:
        """Keep ``values`` (replacing earlier ones; names left out are nominal) and apply them
        now if a renderer exists, else when the first one is built. Field names and values
        are checked here, before any world exists."""
        values = dict(values)
        for name, value in values.items():
            check_value(name, value, int(self.options.get("max_distractors", MAX_DISTRACTORS)))
        if self.renderer is not None:
            self.renderer.set_appearance(values, missing_bodies="ignore")
        self.appearance = values

    def frames(self, backend) -> dict[str, Frame]:
        """Every camera's frame at the backend's current poses: one camera is drawn alone;
        several are tiled into one framebuffer and read back once (each frame a copy)."""
        renderer = self._renderer(backend)
        if len(self.names) == 1:
            return renderer.render_from(backend, self.names)
        positions, quats = backend.body_poses()
        tiled = renderer.render_tiled(backend.body_names, positions, quats, self.names)
        out = {}
        for name in self.names:
            f = tiled.frame(name)
            out[name] = Frame(np.ascontiguousarray(f.rgb), np.ascontiguousarray(f.depth), np.ascontiguousarray(f.seg))
        return out

    def frame(self, backend) -> Frame:
        """The first camera's frame."""
        return self._renderer(backend).render_from(backend, self.names[:1])[self.names[0]]

    def _renderer(self, backend) -> Renderer:
        if self.renderer is None or backend.scene is not self.scene:
            self.close()
            self.scene = backend.scene
            cameras = self._resolve(backend)
            options = dict(self.options)
            options.setdefault("far_m", far_plane(backend, cameras[0]))
            self.renderer = Renderer(self.scene, cameras, **options)
            self.names = [c.name for c in cameras]
            if self.appearance:
                self.renderer.set_appearance(self.appearance, missing_bodies="ignore")
        return self.renderer

    def _resolve(self, backend) -> list[Camera]:
        from dataclasses import replace

        out: list[Camera] = []
        for k, spec in enumerate(self.specs):
            w, h = self.sizes[k] if self.sizes is not None else (self.width, self.height)
            cam = spec if isinstance(spec, Camera) else self._resolve_one(backend, spec, w, h)
            if self.sizes is not None and not isinstance(spec, Camera):
                cam = replace(cam, width=w, height=h)
            if self.given_names is not None:
                cam = replace(cam, name=self.given_names[k])
            out.append(cam)
        names = [c.name for c in out]
        if len(set(names)) != len(names):
            raise ValueError(f"camera names must be unique, got {names}")
        return out

    def _resolve_one(self, backend, spec: str | None, width: int, height: int) -> Camera:
        scene = backend.scene
        positions, quats = backend.body_poses()
        size = dict(width=width, height=height)
        if spec is None or spec == "auto":
            return _auto_camera(backend, positions, quats, size)
        if spec.startswith("chase:"):
            return chase_camera(scene, spec[6:], name=f"chase_{spec[6:]}", **size)
        if spec == "overview":
            return overview_camera(scene, body_names=backend.body_names, positions=positions, quats=quats, **size)
        named = [c for c in scene.cameras if c.name == spec]
        if not named:
            raise ValueError(f"no camera {spec!r} in the scene; it has {[c.name for c in scene.cameras]} (or 'overview', 'chase:<body>')")
        return named[0]

    def close(self) -> None:
        if self.renderer is not None:
            self.renderer.close()
            self.renderer = None
        self.scene = None


def _auto_camera(backend, positions: np.ndarray, quats: np.ndarray, size: dict[str, int]) -> Camera:
    scene = backend.scene
    if scene.cameras:
        return scene.cameras[0]
    bounds = scene_bounds(scene, backend.body_names, positions, quats)
    if bounds is not None and np.linalg.norm(bounds[1] - bounds[0]) > AUTO_CHASE_EXTENT_M:
        movers = [b.name for b in scene.bodies if b.is_free and b.semantic_class in CHASE_CLASSES]
        if movers:
            return chase_camera(scene, movers[0], **size)
    return overview_camera(scene, body_names=backend.body_names, positions=positions, quats=quats, **size)


def far_plane(backend, camera: Camera) -> float:
    """A far clip distance reaching past the whole world from ``camera`` (at least 100 m)."""
    positions, quats = backend.body_poses()
    bounds = scene_bounds(backend.scene, backend.body_names, positions, quats)
    if bounds is None:
        return 100.0
    b = np.asarray(bounds)
    corners = np.array([[x, y, z] for x in b[:, 0] for y in b[:, 1] for z in b[:, 2]])
    eye = np.asarray(camera.pos, float)
    if camera.body is not None:
        eye = positions[backend.body_index(camera.body)]
    return max(100.0, 1.2 * float(np.linalg.norm(corners - eye, axis=1).max()))


# -- the env's ``camera=`` option ------------------------------------------------------------

CAMERA_KEYS = ("width", "height", "view", "body", "pos", "target", "quat", "up", "fovy_deg")
DEFAULT_OBS_SIZE = (84, 84)  # (width, height) of an observation camera


@dataclass(frozen=True)
class ObservationCameras:
    """A SimEnv's observation cameras, parsed from its ``camera=`` option.

    ``keys[k]`` prefixes camera k's observation keys (``""`` for the one camera of the
    single-camera form: keys ``rgb``, ``depth``, ``seg``; else ``"<name>_"``)."""

    names: tuple[str, ...]
    specs: tuple[CameraSpec, ...]
    sizes: tuple[tuple[int, int], ...]
    keys: tuple[str, ...]
    renderer_options: dict[str, Any]

    def view(self) -> "CameraView":
        return CameraView(list(self.specs), names=list(self.names), sizes=list(self.sizes), **self.renderer_options)


def observation_cameras(option: Mapping[str, Any] | None) -> ObservationCameras:
    """Parse ``camera=``: one camera as a dict of camera keys (:data:`CAMERA_KEYS`) and
    renderer options, or several as ``{name: camera dict, ..., renderer options}``.

    Camera keys: ``width``, ``height`` (default 84 × 84); ``view``: a :class:`CameraView`
    spec (a scene camera's name, ``"overview"``, ``"chase:<body>"``, a :class:`Camera`;
    default automatic); or a pose: ``pos`` [m] with ``target`` [m] (look-at, ``up`` default
    +z) or ``quat`` (optical frame, wxyz), in the world or riding on ``body``, with
    ``fovy_deg`` (default 60).
    """
    option = dict(option or {})
    several = {k: v for k, v in option.items() if isinstance(v, Mapping)}
    shared = {k: v for k, v in option.items() if k not in several}
    if several:
        bad = [k for k in shared if k in CAMERA_KEYS]
        if bad:
            raise ValueError(f"camera option: {bad} belong inside a camera's dict when several cameras are given ({sorted(several)})")
        parsed = [_one_camera(name, dict(spec)) for name, spec in several.items()]
        keys = tuple(f"{name}_" for name in several)
    else:
        parsed = [_one_camera("camera", {k: shared.pop(k) for k in CAMERA_KEYS if k in shared})]
        keys = ("",)
    allowed = set(inspect.signature(Renderer.__init__).parameters) - {"self", "scene", "cameras"}
    bad = sorted(set(shared) - allowed)
    if bad:
        raise ValueError(f"camera option: unknown keys {bad}; camera keys are {list(CAMERA_KEYS)}, renderer options {sorted(allowed)}")
    names = tuple(name for name, _, _ in parsed)
    return ObservationCameras(names, tuple(spec for _, spec, _ in parsed), tuple(size for _, _, size in parsed), keys, shared)


def _one_camera(name: str, spec: dict[str, Any]) -> tuple[str, CameraSpec, tuple[int, int]]:
    from simsuite.render.camera import look_at_camera

    unknown = sorted(set(spec) - set(CAMERA_KEYS))
    if unknown:
        raise ValueError(f"camera {name!r}: unknown keys {unknown}; a camera takes {list(CAMERA_KEYS)} (renderer options go beside the cameras)")
    width, height = int(spec.get("width", DEFAULT_OBS_SIZE[0])), int(spec.get("height", DEFAULT_OBS_SIZE[1]))
    if width < 1 or height < 1:
        raise ValueError(f"camera {name!r}: width and height must be positive, got {width}x{height}")
    if "pos" not in spec:
        stray = sorted(k for k in ("body", "target", "quat", "up", "fovy_deg") if k in spec)
        if stray:
            raise ValueError(f"camera {name!r}: {stray} need a 'pos'")
        return name, spec.get("view"), (width, height)
    if "view" in spec:
        raise ValueError(f"camera {name!r}: give either 'view' or a pose ('pos' with 'target' or 'quat'), not both")
    if ("target" in spec) == ("quat" in spec):
        raise ValueError(f"camera {name!r}: a pose needs exactly one of 'target' (look-at point) or 'quat' (optical frame)")
    fovy = float(spec.get("fovy_deg", 60.0))
    if "target" in spec:
        cam = look_at_camera(name, spec["pos"], spec["target"], body=spec.get("body"), up=spec.get("up", (0.0, 0.0, 1.0)),
                             width=width, height=height, fovy_deg=fovy)
    else:
        cam = Camera(name, body=spec.get("body"), pos=tuple(float(v) for v in spec["pos"]), quat=tuple(float(v) for v in spec["quat"]),
                     width=width, height=height, fovy_deg=fovy)
    return name, cam, (width, height)
