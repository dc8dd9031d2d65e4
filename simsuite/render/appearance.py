"""Visual randomization: named, bounded appearance parameters the renderer applies at run time.

Every visual quantity that domain randomization may change is a scalar with a dotted name,
like SimSuite's physical parameters (``cube.mass_kg``). :func:`visual_param_names` lists a
scene's names, :func:`nominal_visual` gives the values that leave the scene's own look
unchanged, and :meth:`Appearance.from_values` validates a ``{name: value}`` dict (naming the
bad field) into what :meth:`simsuite.render.Renderer.set_appearance` uploads. Names left out
of a dict take their nominal value, so an appearance is a pure function of its dict.

Names and hard limits (a value outside them is an error; suggested randomization ranges are
in :data:`SUGGESTED_RANGES`):

Per body with drawn geometry (``<body>`` is the body's name):

- ``<body>.color_r|g|b`` in [0, 1]: replaces the colour of every drawn geom of the body
  (material or geom ``rgba``); a material's image texture still modulates it. Nominal: the
  body's first drawn geom's colour. A body whose colour and texture are both nominal keeps
  all its geoms' own colours, so multi-coloured bodies (robot links) look as built.
- ``<body>.color2_r|g|b`` in [0, 1]: the second colour of ``checker``, ``noise`` and
  ``gradient`` textures. Nominal: half the first colour.
- ``<body>.texture``: ``"none"`` (the scene's own look) | ``"checker"`` (squares of
  ``texture_scale_m``) | ``"noise"`` (value noise with features of ``texture_scale_m``) |
  ``"gradient"`` (a ramp color → color2 → color, ``2 * texture_scale_m`` long, along the
  body's longest axis) | ``"image:<path>"`` (a PNG/JPEG, one tile per ``texture_scale_m``,
  box-mapped). Patterns are in the body frame, so they move with the body. ``<path>`` is
  relative to the working directory.
- ``<body>.texture_scale_m`` in [0.001, 1000] m. Nominal 0.1.

Lights (the key light is the scene's first directional light, or the renderer's default
sun when the scene has no lights):

- ``light.azimuth_rad`` in [-2π, 2π], ``light.elevation_rad`` in [-π/2, π/2]: the direction
  *towards* the key light (azimuth from +x about +z, elevation above the horizon). Only for
  scenes whose key light is directional.
- ``light.color_r|g|b`` in [0, 1]: the key light's colour (nominal: its diffuse colour
  divided by its largest component).
- ``light.intensity`` in [0, 10]: the key light's brightness as a multiple of its nominal.
- ``light.ambient`` in [0, 10]: ambient and headlight as a multiple of their nominal.

Camera jitter, the same for every camera of a renderer, on top of each camera's nominal
pose in its optical frame (x right, y down, z forward); intrinsics follow the fov:

- ``camera.dx_m|dy_m|dz_m`` in [-10, 10] m; ``camera.droll_rad|dpitch_rad|dyaw_rad`` in
  [-π, π] (about the optical z, x and y axes); ``camera.dfov_deg`` in [-90, 90] (the
  jittered vertical fov must stay in [1, 179] degrees).

Distractors, visual-only shapes (not in physics) with their own instance ids and the
semantic class ``"distractor"``:

- ``distractors.count`` an integer in [0, max_distractors] (renderer option, default 8);
- ``distractors.seed`` an integer >= 0: shapes (box, sphere, cylinder), sizes, colours,
  textures and poses within the scene's bounds follow from it deterministically;
- ``distractors.size_m`` in (0, 100] m: typical half size (nominal: 5 % of the scene's
  diagonal, within [0.02, 1] m).

A body named ``light``, ``camera`` or ``distractors`` gets no per-body names (its names
would be ambiguous).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Mapping

import numpy as np

from simsuite.scene import Light, Scene

DEFAULT_LIGHTS = (Light("default_sun", pos=(0.0, 0.0, 10.0), direction=(-0.3, 0.25, -1.0), diffuse=(0.7, 0.7, 0.7), cast_shadow=True),)
MAX_DISTRACTORS = 8
RESERVED = ("light", "camera", "distractors")
TEXTURES = ("none", "checker", "noise", "gradient")
IMAGE_PREFIX = "image:"
#: texture kind -> mode number in the shader (0: scene's own colour, 1: colour override)
TEXTURE_MODES = {"checker": 2, "noise": 3, "gradient": 4, "image": 5}

BODY_FIELDS = ("color_r", "color_g", "color_b", "color2_r", "color2_g", "color2_b", "texture", "texture_scale_m")
LIGHT_FIELDS = ("azimuth_rad", "elevation_rad", "color_r", "color_g", "color_b", "intensity", "ambient")
CAMERA_FIELDS = ("dx_m", "dy_m", "dz_m", "droll_rad", "dpitch_rad", "dyaw_rad", "dfov_deg")
DISTRACTOR_FIELDS = ("count", "seed", "size_m")

# hard limits per field: (low, high), inclusive
_LIMITS: dict[str, tuple[float, float]] = {
    **{f: (0.0, 1.0) for f in ("color_r", "color_g", "color_b", "color2_r", "color2_g", "color2_b")},
    "texture_scale_m": (1e-3, 1e3),
    "light.azimuth_rad": (-2 * math.pi, 2 * math.pi),
    "light.elevation_rad": (-math.pi / 2, math.pi / 2),
    "light.color_r": (0.0, 1.0),
    "light.color_g": (0.0, 1.0),
    "light.color_b": (0.0, 1.0),
    "light.intensity": (0.0, 10.0),
    "light.ambient": (0.0, 10.0),
    "camera.dx_m": (-10.0, 10.0),
    "camera.dy_m": (-10.0, 10.0),
    "camera.dz_m": (-10.0, 10.0),
    "camera.droll_rad": (-math.pi, math.pi),
    "camera.dpitch_rad": (-math.pi, math.pi),
    "camera.dyaw_rad": (-math.pi, math.pi),
    "camera.dfov_deg": (-90.0, 90.0),
    "distractors.seed": (0, 2**63 - 1),
    "distractors.size_m": (1e-6, 100.0),
}
_INTEGER = ("distractors.count", "distractors.seed")
_TEXTURE = (0.0, 0.0)  # limits() marker: a texture name (strings, checked apart)

#: Suggested default randomization ranges (per field; ``<body>`` fields apply to each body),
#: as (family, low, high) for a ParamSpace; the text after each says why.
SUGGESTED_RANGES: dict[str, tuple[str, Any, Any]] = {
    "<body>.color_r|g|b": ("uniform", 0.0, 1.0),  # any colour: object identity must not hinge on hue
    "<body>.color2_r|g|b": ("uniform", 0.0, 1.0),
    "<body>.texture": ("categorical", ("none", "checker", "noise", "gradient"), None),  # plus image:<path> where a texture set exists
    "<body>.texture_scale_m": ("log-uniform", 0.01, 0.5),  # cm-scale grain to half-metre tiles
    "light.azimuth_rad": ("uniform", -math.pi, math.pi),  # sun from any side
    "light.elevation_rad": ("uniform", 0.3, 1.4),  # 17-80 deg: low raking to overhead light
    "light.intensity": ("uniform", 0.5, 1.5),
    "light.color_r|g|b": ("uniform", 0.8, 1.0),  # warm to cool white, not coloured light
    "light.ambient": ("uniform", 0.5, 1.5),
    "camera.dx_m|dy_m|dz_m": ("uniform", -0.02, 0.02),  # mounting tolerance of a real camera
    "camera.droll_rad|dpitch_rad|dyaw_rad": ("uniform", -0.03, 0.03),  # about 2 deg
    "camera.dfov_deg": ("uniform", -3.0, 3.0),  # lens and calibration spread
    "distractors.count": ("uniform-int", 0, 8),
    "distractors.seed": ("uniform-int", 0, 2**31 - 1),
}


class AppearanceError(ValueError):
    """A visual parameter name or value the renderer cannot apply; names the field."""


@dataclass(frozen=True)
class VisualSpec:
    """What a scene offers for visual randomization: per-body nominal colours, the key
    light, the distractor region and size (computed once per renderer)."""

    bodies: tuple[str, ...]  # bodies with drawn geometry and per-body names
    nominal_color: dict[str, tuple[float, float, float]]
    key_light: int  # index into lights, -1: none
    lights: tuple[Light, ...]
    region: tuple[np.ndarray, np.ndarray]  # (lo, hi) world box where distractors go
    distractor_size_m: float

    @classmethod
    def of(cls, scene: Scene) -> "VisualSpec":
        from simsuite.render.camera import scene_bounds

        materials = {m.name: m for m in scene.materials}
        bodies, colors = [], {}
        for body, _, _ in scene.walk():
            for geom in body.geoms:
                mat = materials.get(geom.material) if geom.material else None
                rgba = mat.rgba if mat is not None else geom.rgba
                if geom.visible and rgba[3] > 0:
                    if body.name not in RESERVED:
                        bodies.append(body.name)
                        colors[body.name] = tuple(float(c) for c in rgba[:3])
                    break
        lights = tuple(scene.lights) or DEFAULT_LIGHTS
        directional = [i for i, light in enumerate(lights) if light.directional]
        key = directional[0] if directional else (0 if lights else -1)
        bounds = scene_bounds(scene)
        if bounds is None:
            lo, hi = np.full(3, -0.5), np.full(3, 0.5)
        else:
            lo, hi = np.asarray(bounds[0], float), np.asarray(bounds[1], float)
        size = float(np.clip(0.05 * np.linalg.norm(hi - lo), 0.02, 1.0))
        return cls(tuple(bodies), colors, key, lights, (lo, hi), size)

    @property
    def key_directional(self) -> bool:
        return self.key_light >= 0 and self.lights[self.key_light].directional

    def names(self) -> list[str]:
        out = [f"{b}.{f}" for b in self.bodies for f in BODY_FIELDS]
        light = [f for f in LIGHT_FIELDS if self.key_directional or f not in ("azimuth_rad", "elevation_rad")]
        if self.key_light >= 0:
            out += [f"light.{f}" for f in light]
        out += [f"camera.{f}" for f in CAMERA_FIELDS]
        out += [f"distractors.{f}" for f in DISTRACTOR_FIELDS]
        return out

    def body_keys(self) -> dict[str, tuple[str, ...]]:
        """Per body, its names in :data:`BODY_FIELDS` order."""
        cached = self.__dict__.get("_body_keys")
        if cached is None:
            cached = {b: tuple(f"{b}.{f}" for f in BODY_FIELDS) for b in self.bodies}
            object.__setattr__(self, "_body_keys", cached)
        return cached

    def limits(self) -> dict[str, tuple[float, float]]:
        """(low, high) of each float-valued name (for a fast path; integers and strings
        go through :func:`check_value`)."""
        cached = self.__dict__.get("_limits")
        if cached is None:
            cached = {}
            for name in self.names():
                prefix, _, fld = name.rpartition(".")
                key = name if prefix in RESERVED else fld
                if key in _LIMITS and key not in _INTEGER:
                    cached[name] = _LIMITS[key]
                elif fld == "texture" and prefix not in RESERVED:
                    cached[name] = _TEXTURE
            object.__setattr__(self, "_limits", cached)
        return cached

    def nominal(self) -> dict[str, float | str]:
        """The nominal values (a new dict each call)."""
        cached = self.__dict__.get("_nominal")
        if cached is None:
            cached = self._nominal()
            object.__setattr__(self, "_nominal", cached)
        return dict(cached)

    def _nominal(self) -> dict[str, float | str]:
        out: dict[str, float | str] = {}
        for b in self.bodies:
            rgb = self.nominal_color[b]
            out.update({f"{b}.color_r": rgb[0], f"{b}.color_g": rgb[1], f"{b}.color_b": rgb[2]})
            out.update({f"{b}.color2_r": rgb[0] / 2, f"{b}.color2_g": rgb[1] / 2, f"{b}.color2_b": rgb[2] / 2})
            out.update({f"{b}.texture": "none", f"{b}.texture_scale_m": 0.1})
        if self.key_light >= 0:
            light = self.lights[self.key_light]
            if self.key_directional:
                az, el = direction_to_angles(light.direction)
                out.update({"light.azimuth_rad": az, "light.elevation_rad": el})
            color = nominal_light_color(light)
            out.update({"light.color_r": color[0], "light.color_g": color[1], "light.color_b": color[2]})
            out.update({"light.intensity": 1.0, "light.ambient": 1.0})
        out.update({f"camera.{f}": 0.0 for f in CAMERA_FIELDS})
        out.update({"distractors.count": 0, "distractors.seed": 0, "distractors.size_m": self.distractor_size_m})
        return out


def visual_param_names(scene: Scene) -> list[str]:
    """Every visual parameter name of a scene (see the module docstring)."""
    return VisualSpec.of(scene).names()


def nominal_visual(scene: Scene) -> dict[str, float | str]:
    """The values that leave the scene's own look unchanged (the renderer draws exactly
    what it draws without :meth:`~simsuite.render.Renderer.set_appearance`)."""
    return VisualSpec.of(scene).nominal()


def direction_to_angles(direction) -> tuple[float, float]:
    """A light's direction of travel -> (azimuth, elevation) [rad] of the way towards it."""
    d = -np.asarray(direction, float)
    d = d / max(float(np.linalg.norm(d)), 1e-12)
    return float(math.atan2(d[1], d[0])), float(math.asin(max(-1.0, min(1.0, d[2]))))


def angles_to_direction(azimuth: float, elevation: float) -> np.ndarray:
    """(azimuth, elevation) towards the light -> its unit direction of travel."""
    ce = math.cos(elevation)
    return -np.array([ce * math.cos(azimuth), ce * math.sin(azimuth), math.sin(elevation)])


def nominal_light_color(light: Light) -> tuple[float, float, float]:
    peak = max(light.diffuse)
    return tuple(float(c) / peak for c in light.diffuse) if peak > 0 else (1.0, 1.0, 1.0)  # type: ignore[return-value]


@dataclass(frozen=True)
class BodyLook:
    """One body's override: shader mode, colours, pattern scale and image file."""

    mode: int  # 1: colour only, 2..5: checker, noise, gradient, image (TEXTURE_MODES)
    color: tuple[float, float, float]
    color2: tuple[float, float, float]
    scale_m: float
    image: str | None = None


@dataclass(frozen=True)
class Appearance:
    """Validated visual parameters: the full ``values`` (nominal where not given) and what
    the renderer needs of them."""

    values: dict[str, float | str]
    bodies: dict[str, BodyLook] = field(default_factory=dict)  # only bodies that differ from nominal
    light_direction: np.ndarray | None = None  # key light's direction of travel; None: nominal
    light_diffuse: tuple[float, float, float] | None = None  # key light colour; None: nominal
    ambient_scale: float = 1.0
    camera_offset: tuple[float, ...] = (0.0,) * 7  # dx, dy, dz, droll, dpitch, dyaw, dfov
    distractors: tuple[int, int, float] = (0, 0, 0.0)  # count, seed, size_m

    @property
    def camera_jittered(self) -> bool:
        return any(self.camera_offset)

    @classmethod
    def from_values(
        cls,
        scene: Scene | VisualSpec,
        values: Mapping[str, Any],
        *,
        missing_bodies: str = "error",
        max_distractors: int = MAX_DISTRACTORS,
    ) -> "Appearance":
        """Validate ``values`` against a scene (or its :class:`VisualSpec`).

        ``missing_bodies="error"`` (default): a per-body name whose body is not in the scene
        is an error; ``"ignore"``: it is checked (field and value) and then dropped, for
        views whose worlds change between resets.
        """
        spec = scene if isinstance(scene, VisualSpec) else VisualSpec.of(scene)
        if missing_bodies not in ("error", "ignore"):
            raise ValueError(f"missing_bodies must be 'error' or 'ignore', got {missing_bodies!r}")
        nominal = spec.nominal()
        full = dict(nominal)
        bodies = set(spec.bodies)
        limits = spec.limits()
        for name, value in values.items():
            lim = limits.get(name)
            if lim is not None:  # the common cases, fast
                if type(value) is float and lim[0] <= value <= lim[1]:
                    full[name] = value
                    continue
                if lim is _TEXTURE and type(value) is str and value in TEXTURES:
                    full[name] = value
                    continue
            checked = check_value(name, value, max_distractors)
            if name in nominal:
                full[name] = checked
                continue
            prefix, _, fld = str(name).rpartition(".")
            if prefix in RESERVED:
                raise AppearanceError(
                    f"visual parameter {name!r}: not offered by this scene"
                    + ("" if spec.key_directional else " (its key light is not directional)")
                )
            if prefix in bodies or missing_bodies == "ignore":
                continue
            raise AppearanceError(
                f"visual parameter {name!r}: unknown body {prefix!r}; bodies with visual parameters are {sorted(bodies)}"
            )
        looks: dict[str, BodyLook] = {}
        for b, keys in spec.body_keys().items():
            r, g, bl, r2, g2, b2, tex, scale = (full[k] for k in keys)
            color = (float(r), float(g), float(bl))
            if tex == "none" and color == spec.nominal_color[b]:
                continue
            image = tex[len(IMAGE_PREFIX) :] if tex.startswith(IMAGE_PREFIX) else None  # type: ignore[union-attr]
            mode = 1 if tex == "none" else TEXTURE_MODES["image" if image else tex]  # type: ignore[index]
            looks[b] = BodyLook(mode, color, (float(r2), float(g2), float(b2)), float(scale), image)
        direction = diffuse = None
        if spec.key_directional:
            az, el = full["light.azimuth_rad"], full["light.elevation_rad"]
            if (az, el) != (nominal["light.azimuth_rad"], nominal["light.elevation_rad"]):
                direction = angles_to_direction(float(az), float(el))
        if spec.key_light >= 0:
            light = spec.lights[spec.key_light]
            color = tuple(float(full[f"light.color_{c}"]) for c in "rgb")
            intensity = float(full["light.intensity"])
            if intensity != 1.0 or color != nominal_light_color(light):
                peak = max(light.diffuse)
                diffuse = tuple(peak * intensity * c for c in color)
        camera = tuple(float(full[f"camera.{f}"]) for f in CAMERA_FIELDS)
        distractors = (int(full["distractors.count"]), int(full["distractors.seed"]), float(full["distractors.size_m"]))
        return cls(full, looks, direction, diffuse, float(full.get("light.ambient", 1.0)), camera, distractors)  # type: ignore[arg-type]


def check_value(name: Any, value: Any, max_distractors: int = MAX_DISTRACTORS) -> float | int | str:
    """One value against its field's type and limits (scene-independent); returns it
    normalized (float, int or str). Raises :class:`AppearanceError` naming the field."""
    if not isinstance(name, str) or "." not in name:
        raise AppearanceError(f"visual parameter names are '<body>.<field>', 'light.*', 'camera.*' or 'distractors.*'; got {name!r}")
    prefix, _, fld = name.rpartition(".")
    known = {"light": LIGHT_FIELDS, "camera": CAMERA_FIELDS, "distractors": DISTRACTOR_FIELDS}.get(prefix, BODY_FIELDS)
    if fld not in known:
        what = f"{prefix}.*" if prefix in RESERVED else "<body>.*"
        raise AppearanceError(f"visual parameter {name!r}: unknown field {fld!r}; {what} fields are {list(known)}")
    if prefix not in RESERVED and fld == "texture":
        if not isinstance(value, str):
            raise AppearanceError(f"visual parameter {name!r}: a texture is a string, got {value!r}")
        if value in TEXTURES:
            return value
        if value.startswith(IMAGE_PREFIX) and len(value) > len(IMAGE_PREFIX):
            return value
        raise AppearanceError(f"visual parameter {name!r}: texture must be one of {list(TEXTURES)} or 'image:<path>', got {value!r}")
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise AppearanceError(f"visual parameter {name!r}: needs a number, got {value!r}")
    key = f"{prefix}.{fld}" if prefix in RESERVED else fld
    if key in _INTEGER:
        if not math.isfinite(float(value)) or float(value) != int(value):
            raise AppearanceError(f"visual parameter {name!r}: needs an integer, got {value!r}")
        v = int(value)
        lo, hi = (0, max_distractors) if key == "distractors.count" else _LIMITS[key]
        if not lo <= v <= hi:
            raise AppearanceError(f"visual parameter {name!r}: {v} is outside [{lo}, {hi}]")
        return v
    v = float(value)
    lo, hi = _LIMITS[key]
    if not (math.isfinite(v) and lo <= v <= hi):
        raise AppearanceError(f"visual parameter {name!r}: {value!r} is outside [{lo:g}, {hi:g}]")
    return v


# -- distractors ---------------------------------------------------------------------------------

DISTRACTOR_SHAPES = ("box", "sphere", "cylinder")


def distractor_layout(
    count: int, seed: int, size_m: float, region: tuple[np.ndarray, np.ndarray], avoid: np.ndarray | None = None, slots: int = MAX_DISTRACTORS
) -> dict[str, np.ndarray]:
    """Deterministic distractors from ``seed``, as arrays over the first ``count`` of
    ``slots`` slots: ``shape`` (index into :data:`DISTRACTOR_SHAPES`), ``half`` (half extents
    of the unit shape, (n, 3)), ``pos`` (n, 3), ``quat`` (n, 4, w first), ``color``, ``color2``
    (n, 3), ``mode`` (shader texture mode: 1 plain, 2..4 checker, noise, gradient) and
    ``scale_m``. A slot depends on the seed and ``slots`` only, not on ``count`` (raising
    the count adds objects). ``avoid``: (K, 3) points (fixed cameras) no distractor swallows."""
    n = max(int(slots), int(count))
    rng = np.random.default_rng(seed)
    lo, hi = np.asarray(region[0], float), np.asarray(region[1], float)
    u = rng.random((n, 20))  # one draw: every column below is a fixed use of it
    shape = (u[:, 0] * len(DISTRACTOR_SHAPES)).astype(np.int64)
    half = size_m * (0.5 + u[:, 1:4])
    half[shape == 1] = half[shape == 1, :1]  # spheres: round
    half[shape == 2, 1] = half[shape == 2, 0]  # cylinders: round in x-y
    # a uniformly random rotation (Shoemake): unit quaternion from three uniforms
    r1, r2 = np.sqrt(1 - u[:, 4]), np.sqrt(u[:, 4])
    t1, t2 = 2 * np.pi * u[:, 5], 2 * np.pi * u[:, 6]
    quat = np.stack([r2 * np.cos(t2), r1 * np.sin(t1), r1 * np.cos(t1), r2 * np.sin(t2)], 1)  # (w, x, y, z)
    pos = lo + (hi - lo) * u[:, 7:10]
    if avoid is not None and len(avoid):
        for _ in range(8):  # keep clear of fixed cameras (redraws come after the fixed columns)
            near = np.linalg.norm(pos[:, None] - avoid[None], axis=2).min(1) <= 2.5 * half.max(1)
            if not near.any():
                break
            pos[near] = lo + (hi - lo) * rng.random((int(near.sum()), 3))
    colors = u[:, 10:16].reshape(n, 2, 3)
    mode = np.array([1, 1, 2, 3, 4])[(u[:, 16] * 5).astype(np.int64)]
    scale = size_m * (0.2 + 0.8 * u[:, 17])
    c = int(count)
    return dict(shape=shape[:c], half=half[:c], pos=pos[:c], quat=quat[:c], color=colors[:c, 0], color2=colors[:c, 1], mode=mode[:c], scale_m=scale[:c])
