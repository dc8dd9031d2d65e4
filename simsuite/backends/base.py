"""The backend protocol: what tasks, sensors and the renderer may ask of a physics engine.

Each engine lives in its own module (``mujoco.py``, ``pybullet.py``) and is imported
lazily through :func:`simsuite.backends.make_backend`. A backend compiles a
:class:`~simsuite.scene.Scene` and answers questions about physics by *name*; it
never knows which task is running.

Parameter names (``get_param`` / ``set_param``), all SI:

==============================  =============================================
``<body>.mass_kg``              body mass; the inertia stays (mass added at the COM)
``<body>.inertia_scale``        multiplier on the compiled principal inertia
``<body>.friction``             sliding friction of all the body's geoms
``<body>.restitution``          restitution of all the body's geoms
``<body>.linear_damping``       [1/s]
``<body>.angular_damping``      [1/s]
``<body>.torsional_friction``   [m] spin friction of all the body's geoms (product rule)
``<body>.rolling_friction``     [m] rolling friction of all the body's geoms (product rule)
``<geom>.friction``             sliding friction of one geom (also its torsional/rolling)
``<geom>.restitution``          restitution of one geom
``<joint>.damping``             [N·m·s/rad] or [N·s/m]
``<actuator>.gain``             multiplier on the actuator's compiled gains (kp, kv, gear)
``gravity``                     (3,) [m/s²]
``timestep_s``                  physics step [s]
==============================  =============================================
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from typing import Literal, Mapping, Sequence

import numpy as np

from simsuite.scene import Scene
from simsuite.transforms import quat_to_mat

BACKENDS = ("mujoco", "pybullet")
Frame = Literal["world", "body"]


class BackendError(ValueError):
    """A request a backend cannot answer: unknown name, bad shape, bad value."""


@dataclass(frozen=True)
class Contact:
    """One contact point involving the queried body."""

    body: str  # the queried body
    other: str  # the body it touches
    pos: np.ndarray  # (3,) world position [m]
    normal: np.ndarray  # (3,) unit normal pointing from ``other`` into ``body``
    normal_force_n: float  # >= 0 [N]
    distance_m: float  # < 0 is penetration


class RayHits:
    """Results of a batch of rays. ``distance_m`` is ``inf`` where nothing was hit within
    ``max_range_m``; ``body_index`` is -1 there, else an index into ``body_names``.

    Both are derived on first read from the engine's own outputs, which ``raw_distance_m``
    exposes: the distance along each ray, where a value outside ``[0, max_range_m]`` (below
    0, beyond range, or NaN) means no hit: each engine marks a miss its own way, whichever
    costs it nothing. A LIDAR turns that array into readings with the few operations it needs
    anyway, so a scan whose labels are never read pays nothing for them, and nothing for the
    conversion to ``inf``.
    """

    __slots__ = ("raw_distance_m", "max_range_m", "body_names", "_ids", "_index_of_id", "_distance", "_index")

    def __init__(
        self, raw_distance_m: np.ndarray, max_range_m: float, body_names: tuple[str, ...], ids: np.ndarray, index_of_id: np.ndarray | None = None
    ):
        """``ids``: what the engine says was hit, per ray; ``index_of_id`` maps an id to a row of
        ``body_names`` (its last entry serves id -1, a miss), or None when ``ids`` are rows already."""
        self.raw_distance_m = raw_distance_m  # (N,) float64
        self.max_range_m = max_range_m
        self.body_names = body_names  # the backend's body table (index -> name)
        self._ids, self._index_of_id = ids, index_of_id
        self._distance: np.ndarray | None = None
        self._index: np.ndarray | None = None

    @property
    def distance_m(self) -> np.ndarray:
        """(N,) float64 distance to the first hit [m]; inf where nothing was hit within range."""
        if self._distance is None:
            raw = self.raw_distance_m
            self._distance = np.where((raw >= 0) & (raw <= self.max_range_m), raw, np.inf)
        return self._distance

    @property
    def body_index(self) -> np.ndarray:
        """(N,) int32 row of the hit body in ``body_names``; -1 where nothing was hit within range."""
        if self._index is None:
            ids, table = self._ids, self._index_of_id
            index = ids.astype(np.int32) if table is None else table.take(ids)
            raw = self.raw_distance_m
            if len(raw) and np.fmax.reduce(raw) > self.max_range_m:  # an engine may name a hit beyond range (misses map to -1)
                index = np.where(np.isinf(self.distance_m), np.int32(-1), index)
            self._index = index
        return self._index

    @property
    def names(self) -> list[str | None]:
        """Hit body name per ray (None for a miss); slower than ``body_index``."""
        return [self.body_names[i] if i >= 0 else None for i in self.body_index]


class Backend(ABC):
    """One physics engine instance owning one compiled scene."""

    name: str = "abstract"

    def __init__(self) -> None:
        self.scene: Scene | None = None

    # -- lifecycle ---------------------------------------------------------
    @abstractmethod
    def compile(self, scene: Scene) -> None:
        """Build the engine model from ``scene`` (replacing any previous one)."""

    @abstractmethod
    def reset(self) -> None:
        """Return to the compiled initial state: poses, zero velocities, zero controls, time 0."""

    @abstractmethod
    def step(self, n_substeps: int = 1, *, keep_forces: bool = False) -> None:
        """Advance ``n_substeps`` physics steps with the current controls and external forces.
        External forces set with :meth:`apply_force` act for this call only, unless
        ``keep_forces`` carries them into the next call (a control step split in chunks)."""

    @abstractmethod
    def hold_commands(self, substeps: int) -> None:
        """Action latency within a control step: the controls and forces given from now on
        take effect only after ``substeps`` physics steps of the next :meth:`step` calls; until
        then the ones in force now act (forces in force are those carried by ``keep_forces``).
        Forces given from now on start from none. A reset, a restored state or a new scene
        drops the hold. SimEnv calls this before the task applies a delayed action, so the task
        runs at the step's start and the step stays one call."""

    @abstractmethod
    def close(self) -> None:
        """Free the engine handle. Idempotent."""

    @property
    @abstractmethod
    def diverged(self) -> bool:
        """True once the engine hit a numerical blow-up (NaN, runaway velocity) since reset."""

    @property
    @abstractmethod
    def time_s(self) -> float:
        """Simulated time since reset [s]."""

    # -- state -------------------------------------------------------------
    @abstractmethod
    def get_state(self) -> np.ndarray:
        """The full simulator state as a flat float64 array (opaque to callers)."""

    @abstractmethod
    def set_state(self, state: np.ndarray) -> None:
        """Restore a state from :meth:`get_state`; stepping afterwards is bit-identical."""

    @abstractmethod
    def set_body_pose(self, body: str, pos: Sequence[float], quat: Sequence[float] | None = None) -> None:
        """Teleport a free body (zeroes its velocity); used by worlds at reset."""

    @abstractmethod
    def set_joint_position(self, joint: str, value: float, velocity: float = 0.0) -> None:
        """Set one hinge or slide joint's position [rad or m] and velocity."""

    # -- controls and forces ---------------------------------------------------
    @abstractmethod
    def set_controls(self, controls: Mapping[str, float]) -> None:
        """Set actuator commands by actuator name (clipped to each ``ctrl_range``)."""

    def set_control_array(self, actuators: tuple[str, ...], values: np.ndarray) -> None:
        """Set the commands of ``actuators`` (a tuple, reused every step: its lookup is cached)
        from an array of the same length, clipped to each ``ctrl_range``: the fast path for a
        task that computes its commands as one vector."""
        values = np.asarray(values, dtype=np.float64)
        if values.shape != (len(actuators),):
            raise BackendError(f"set_control_array: {len(actuators)} actuators but values of shape {values.shape}")
        self.set_controls(dict(zip(actuators, values.tolist())))

    @abstractmethod
    def apply_force(
        self,
        body: str,
        force_n: Sequence[float] = (0.0, 0.0, 0.0),
        torque_nm: Sequence[float] = (0.0, 0.0, 0.0),
        point: Sequence[float] | str | None = None,
        frame: Frame = "world",
    ) -> None:
        """Add a force and torque on ``body`` for the next :meth:`step` call.

        ``point`` is where the force acts: a site name, or a point in ``frame``
        coordinates, or None for the body frame origin. ``frame`` says how the
        force and torque vectors (and a point given as numbers) are expressed:
        world axes, or the body's own axes.
        """

    # -- kinematics ----------------------------------------------------------
    @abstractmethod
    def body_pose(self, body: str) -> tuple[np.ndarray, np.ndarray]:
        """World position (3,) and quaternion (w, x, y, z) of the body frame."""

    @abstractmethod
    def body_velocity(self, body: str, frame: Frame = "world") -> tuple[np.ndarray, np.ndarray]:
        """Linear velocity of the body frame origin [m/s] and angular velocity [rad/s],
        expressed in world axes or in the body's own axes."""

    def body_motion(self, body: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Position, quaternion (w, x, y, z), linear and angular velocity of the body frame,
        all in world axes: :meth:`body_pose` and :meth:`body_velocity` in one call (a task that
        reads a flying body every step needs all four)."""
        pos, quat = self.body_pose(body)
        return (pos, quat, *self.body_velocity(body))

    @abstractmethod
    def body_poses(self, bodies: Sequence[str] | None = None) -> tuple[np.ndarray, np.ndarray]:
        """All bodies' positions (N, 3) and quaternions (N, 4), ordered as :attr:`body_names`;
        or, given a sequence of names (a tuple reused every step: its lookup is cached), those
        bodies' poses in that order (a task reading a few bodies skips the rest)."""

    @property
    @abstractmethod
    def body_names(self) -> tuple[str, ...]:
        """Names of all scene bodies, in a fixed order."""

    @abstractmethod
    def site_pose(self, site: str) -> tuple[np.ndarray, np.ndarray]:
        """World position and quaternion of a named site."""

    @abstractmethod
    def joint_state(self, joint: str) -> tuple[float, float]:
        """Position [rad or m] and velocity of a hinge or slide joint."""

    @abstractmethod
    def joint_states(self, joints: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """Positions and velocities of several joints at once (the fast path for tasks)."""

    def body_index(self, body: str) -> int:
        """Row of ``body`` in :meth:`body_poses` and :attr:`body_names`."""
        try:
            return self.body_names.index(body)
        except ValueError:
            raise unknown_name("body", body, self.body_names) from None

    @abstractmethod
    def set_body_velocity(self, body: str, linear_m_s: Sequence[float], angular_rad_s: Sequence[float] = (0.0, 0.0, 0.0)) -> None:
        """Set a free body's linear velocity (of its frame origin) and angular velocity, world axes."""

    @abstractmethod
    def contacts(self, body: str) -> list[Contact]:
        """Active contact points of ``body`` with any other body."""

    # -- rays ------------------------------------------------------------------
    @abstractmethod
    def cast_rays(
        self, origins: np.ndarray, directions: np.ndarray, max_range_m: float = 100.0, *, unit_directions: bool = False
    ) -> RayHits:
        """Cast any number of rays; ``origins`` is (N, 3) or (3,) shared (the fast path:
        one engine call per batch); ``directions`` (N, 3) need not be unit length unless
        the caller promises so with ``unit_directions`` (skips normalizing and checking
        them: a unit vector is finite). Visual-only geoms are not hit."""

    def ray_fan(self, body: str, directions: np.ndarray, origin: Sequence[float] = (0.0, 0.0, 0.0), max_range_m: float = 100.0) -> "RayFan":
        """A fixed fan of rays carried by ``body`` (a LIDAR's beams): ``directions`` (N, 3) and
        the shared ``origin`` (3,) in the body frame. Names and inputs are checked here, once;
        each :meth:`RayFan.cast` then reads the body's pose and casts every ray from there,
        with the result :meth:`cast_rays` would give. A fan belongs to the scene compiled when it
        was made: make a new one after the next :meth:`compile`."""
        return RayFan(self, body, directions, origin, max_range_m)

    # -- physical parameters -----------------------------------------------
    @abstractmethod
    def get_param(self, name: str) -> float | np.ndarray:
        """Read a physical parameter by dotted name (see the module docstring)."""

    @abstractmethod
    def set_param(self, name: str, value: float | Sequence[float]) -> None:
        """Write a physical parameter by dotted name; takes effect from the next step."""

    @abstractmethod
    def param_names(self) -> list[str]:
        """Every parameter name this compiled scene accepts."""

    def batched_params(self) -> AbstractContextManager[None]:
        """A block of :meth:`set_param` calls whose derived updates (contact pairs, a forward
        pass) the backend may run once, at the end: a randomized reset writes a dozen or more.
        Reads inside the block may see those updates pending."""
        return nullcontext()

    # -- shared helpers --------------------------------------------------------
    def __enter__(self) -> "Backend":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class RayFan:
    """Rays fixed to a body, prepared once and cast many times (see :meth:`Backend.ray_fan`).

    Each cast rotates the body-frame directions and the origin offset together, with one
    (N + 1, 3) x (3, 3) product into a buffer kept between casts, then casts from the one
    origin. Backends may subclass it to read their engine's own pose data directly.
    """

    def __init__(self, backend: Backend, body: str, directions: np.ndarray, origin: Sequence[float], max_range_m: float):
        self.backend, self.body = backend, body
        backend.body_index(body)  # an unknown name fails here, with the known names
        if not (isinstance(max_range_m, (int, float, np.floating, np.integer)) and 0 < max_range_m < math.inf):
            raise BackendError(f"max_range_m must be a finite number > 0, got {max_range_m!r}")
        offset, units = as_ray_arrays(origin, directions)
        if offset.shape != (3,):
            raise BackendError(f"a ray fan's origin must have shape (3,), got {offset.shape}")
        self.max_range_m = float(max_range_m)
        self.n = len(units)
        self._local = np.vstack([units, offset])  # last row: the origin offset, rotated with the rays
        self._world = np.empty_like(self._local)
        self._directions = self._world[: self.n]  # a view: the rotated directions

    def cast(self) -> RayHits:
        """Cast every ray from where the body is now."""
        pos, quat = self.backend.body_pose(self.body)
        np.matmul(self._local, quat_to_mat(quat.tolist()).T, out=self._world)
        return self.backend.cast_rays(pos + self._world[-1], self._directions, self.max_range_m, unit_directions=True)


def as_ray_arrays(origins: np.ndarray, directions: np.ndarray, unit_directions: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Validate ray inputs; return origins ((3,) when shared, else (N, 3)) and unit (N, 3)
    directions, both contiguous float64."""
    d = np.ascontiguousarray(directions, dtype=np.float64)
    if d.ndim != 2 or d.shape[1] != 3:
        raise BackendError(f"ray directions must have shape (N, 3), got {d.shape}")
    o = np.ascontiguousarray(origins, dtype=np.float64)
    if o.shape != (3,) and o.shape != d.shape:
        raise BackendError(f"ray origins must have shape (3,) or {d.shape}, got {o.shape}")
    if not unit_directions:
        norms = np.sqrt(np.einsum("ij,ij->i", d, d))[:, None]
        if np.any(norms == 0):
            raise BackendError("ray directions must be non-zero")
        d = d / norms
        if not np.isfinite(d).all():
            raise BackendError("ray origins and directions must be finite")
    # promised unit directions are finite: only the origins are checked (a LIDAR scan's path)
    if not (all(map(math.isfinite, o.tolist())) if o.shape == (3,) else np.isfinite(o).all()):
        raise BackendError("ray origins and directions must be finite")
    return o, d


def param_error(name: str, known: Sequence[str]) -> BackendError:
    """An error for an unknown parameter that lists close matches."""
    import difflib

    close = difflib.get_close_matches(name, known, n=5, cutoff=0.5)
    hint = f"; did you mean {close}?" if close else f"; {len(known)} parameters exist (see param_names())"
    return BackendError(f"unknown parameter {name!r}{hint}")


def unknown_name(kind: str, name: str, known: Sequence[str]) -> BackendError:
    """An error for an unknown body/joint/actuator/site name that lists close matches."""
    import difflib

    close = difflib.get_close_matches(name, known, n=5, cutoff=0.5)
    hint = f"; did you mean {close}?" if close else f"; known: {sorted(known)[:20]}"
    return BackendError(f"unknown {kind} {name!r}{hint}")
