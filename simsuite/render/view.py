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

from typing import Any, Mapping, Sequence

import numpy as np

from simsuite.render.appearance import MAX_DISTRACTORS, check_value
from simsuite.render.camera import chase_camera, overview_camera, scene_bounds
from simsuite.render.renderer import Frame, Renderer
from simsuite.scene import Camera

CameraSpec = Camera | str | None
AUTO_CHASE_EXTENT_M = 25.0  # worlds wider than this get a chase camera by default
CHASE_CLASSES = ("robot", "ego", "vehicle")


class CameraView:
    """Cameras over whatever world an env's backend has compiled.

    Args:
        cameras: camera specs (see the module docstring); one spec or a list.
        width, height: image size for the cameras this view makes (overview, chase).
        **renderer_options: passed to :class:`Renderer` (``lod``, ``shadows``, ``device``...).
            ``far_m`` defaults to reaching past the whole world from the first camera.
    """

    def __init__(self, cameras: CameraSpec | Sequence[CameraSpec] = None, *, width: int = 640, height: int = 480, **renderer_options: Any):
        self.specs: list[CameraSpec] = list(cameras) if isinstance(cameras, (list, tuple)) else [cameras]
        if not self.specs:
            raise ValueError("CameraView needs at least one camera spec")
        self.width, self.height = width, height
        self.options = renderer_options
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
        """Every camera's frame at the backend's current poses."""
        return self._renderer(backend).render_from(backend, self.names)

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
        scene = backend.scene
        positions, quats = backend.body_poses()
        size = dict(width=self.width, height=self.height)
        out: list[Camera] = []
        for spec in self.specs:
            if isinstance(spec, Camera):
                out.append(spec)
                continue
            if spec is None or spec == "auto":
                out.append(_auto_camera(backend, positions, quats, size))
            elif spec.startswith("chase:"):
                out.append(chase_camera(scene, spec[6:], name=f"chase_{spec[6:]}", **size))
            elif spec == "overview":
                out.append(overview_camera(scene, body_names=backend.body_names, positions=positions, quats=quats, **size))
            else:
                named = [c for c in scene.cameras if c.name == spec]
                if not named:
                    raise ValueError(f"no camera {spec!r} in the scene; it has {[c.name for c in scene.cameras]} (or 'overview', 'chase:<body>')")
                out.append(named[0])
        names = [c.name for c in out]
        if len(set(names)) != len(names):
            raise ValueError(f"camera names must be unique, got {names}")
        return out

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
