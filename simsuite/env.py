"""SimEnv: the one gymnasium.Env. It runs any Task on any backend.

The loop: validate the action, let the task set commands, step the backend for
``n_substeps`` physics steps, then ask the task for observation, reward terms
and episode end, and assemble ``info``. Seeding gives one ``numpy.random.Generator``
(gymnasium's ``self.np_random``) that is passed down to the world builder and the
task; nothing else draws random numbers.
"""

from __future__ import annotations

import importlib
from typing import Any, Callable, Mapping, Sequence

import gymnasium
import numpy as np

from simsuite import native
from simsuite.backends import BACKENDS, Backend, BackendError, make_backend
from simsuite.randomization import ParamError, ParamSpace, resolve_space
from simsuite.randomization.apply import Applier, backend_owners, effect_owners, sensor_owners, task_owners
from simsuite.randomization.effects import Effects
from simsuite.sensors import SensorSuite, make_sensor
from simsuite.spaces import ActionBox
from simsuite.task import Task


#: observation modalities besides the env's sensors (each sensor is a modality by its name);
#: rgb, depth and seg come from one render pass of the env's observation camera
MODALITIES: tuple[str, ...] = ("state", "rgb", "depth", "seg")
CAMERA_MODALITIES = ("rgb", "depth", "seg")


class ActionError(ValueError):
    """An action the env refuses: wrong shape, NaN or inf."""


def resolve_task(task: str | type[Task] | Task, options: dict[str, Any]) -> Task:
    """A Task instance from an instance, a class, or a ``"module:Class"`` string."""
    if isinstance(task, Task):
        if options:
            raise TypeError(f"options {sorted(options)} given with an already-built task")
        return task
    if isinstance(task, str):
        module_name, _, class_name = task.partition(":")
        task = getattr(importlib.import_module(module_name), class_name)
    if not (isinstance(task, type) and issubclass(task, Task)):
        raise TypeError(f"task must be a Task subclass, instance or 'module:Class' string, got {task!r}")
    try:
        return task(**options)
    except TypeError as exc:
        raise TypeError(f"{task.__name__}: {exc}") from exc


class SimEnv(gymnasium.Env):
    """A SimSuite task on a physics backend.

    Args:
        task: the Task (instance, class or ``"module:Class"``); registered ids fill it in.
        backend: ``"mujoco"`` (default) or ``"pybullet"``.
        render_mode: None, or ``"rgb_array"``: :meth:`render` returns a 640×480 RGB frame
            from SimSuite's own renderer (an overview camera, or a chase camera in large
            worlds; level of detail at most 1 px off, as camera observations), so
            gymnasium's ``RecordVideo`` works.
        obs: one modality name or several: ``"state"`` (the task's vector) or the name of
            a sensor (``"lidar"``, ``"imu"``); several give a ``gymnasium.spaces.Dict``
            observation keyed by modality.
        camera: the observation camera for ``rgb``/``depth``/``seg``: a dict with ``width``,
            ``height`` (default 84 × 84), ``view`` (a :class:`simsuite.render.view.CameraView`
            spec: a scene camera's name, ``"overview"``, ``"chase:<body>"``; default automatic)
            or a pose (``pos`` with ``target`` or ``quat``, optionally on ``body``, and
            ``fovy_deg``), and renderer options such as ``lod`` (default 1.0: at most one
            pixel of screen-space geometric error; None: full detail). Several cameras:
            ``{"wrist": {...}, "front": {...}, <renderer options>}``, observed as
            ``wrist_rgb``, ``front_depth``... (``"rgb"`` in ``obs`` means every camera's),
            all drawn in one tiled pass with one readback. See
            :func:`simsuite.render.view.observation_cameras`.
        randomize: domain randomization: False (default; parameters stay nominal unless
            ``reset(options={"params": {...}})`` sets them), True (the task's default
            :class:`~simsuite.randomization.ParamSpace`, see the env's docstring), a path to a
            space file (YAML/JSON), or a ParamSpace. Values are drawn at each reset from the
            env's generator; the values in force are ``info["params"]`` of ``reset``.
        sensors: per sensor name, a preset name or a spec dict (see
            :func:`simsuite.sensors.make_sensor`) that overrides the task's default sensor of
            that name (keeping its mount unless the spec gives one), or None to remove it.
            A sensor is simulated when it is observed or given here.
        **task_options: passed to the task's constructor.
    """

    metadata = {"render_modes": ["rgb_array"], "render_fps": 50}

    def __init__(
        self,
        task: str | type[Task] | Task,
        backend: str = "mujoco",
        render_mode: str | None = None,
        obs: str | Sequence[str] = "state",
        sensors: Mapping[str, str | Mapping[str, Any] | None] | None = None,
        camera: Mapping[str, Any] | None = None,
        randomize: bool | str | ParamSpace = False,
        **task_options: Any,
    ):
        if backend not in BACKENDS:
            raise BackendError(f"unknown backend {backend!r}; choose one of {BACKENDS}")
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(f"render_mode {render_mode!r} not supported; choose from {self.metadata['render_modes']} or None")
        self._init_args = dict(task=task, backend=backend, render_mode=render_mode, obs=obs, sensors=sensors, camera=camera,
                               randomize=randomize, **task_options)
        self._camera_options = dict(camera or {})
        self._obs_view = None  # the observation camera, made on first use
        self._frame_cache: tuple[int, Any] = (-1, None)
        self._obs_count = 0  # observations made so far: one render pass serves rgb, depth and seg
        self.task = resolve_task(task, task_options)
        self.backend_name = backend
        self.render_mode = render_mode
        self.action_space = ActionBox.of(self.task.action_space)  # the same Box, sampled faster
        obs_names = self._obs_names = (obs,) if isinstance(obs, str) else tuple(obs)
        self.sensors = self._make_sensors(obs_names, sensors or {})
        self._observe, self.observation_space = self._observation_plan(obs_names)
        self._state_low, self._state_high = self.task.observation_space.low, self.task.observation_space.high  # observation noise's bounds
        self._state_only = obs_names == ("state",)  # observation noise applies to the whole observation
        self.metadata = {**self.metadata, "render_fps": round(1.0 / self.task.control_dt_s)}
        self._backend: Backend | None = None
        # float64 bounds: clipping a float32 action against them gives the float64 action tasks get
        self._low = np.asarray(self.action_space.low, dtype=np.float64)
        self._high = np.asarray(self.action_space.high, dtype=np.float64)
        self._last_obs: Any = None
        self._needs_reset = True
        self._view = None  # the render_mode camera, made on first render()
        self.param_space, self._randomize = resolve_space(randomize, self.task.param_space())
        if randomize is True or randomize is False or randomize is None:  # the task's own space:
            # without the noise terms of sensors this env does not simulate
            idle = set(self.task.default_sensors()) - set(self.sensors.sensors if self.sensors is not None else ())
            self.param_space = self.param_space.subset([n for n in self.param_space.names if n.split(".")[0] not in idle])
        self._applier: Applier | None = None
        self._effects: Effects | None = None
        self._appearance: dict[str, Any] = {}
        self._appearance_changed = False
        #: the parameter values in force this episode (also ``info["params"]`` of reset)
        self.params: dict[str, Any] = {}

    @property
    def backend(self) -> Backend:
        if self._backend is None:
            raise gymnasium.error.ResetNeeded("call reset() before using the env's backend")
        return self._backend

    @property
    def physics_dt_s(self) -> float:
        """The physics timestep [s]: action latency takes effect at this resolution (a
        latency between two multiples of it acts as the nearer one)."""
        self.backend  # a clear error before the first reset
        return float(self._timestep_s)

    # -- gymnasium API ---------------------------------------------------------------
    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        super().reset(seed=seed)
        options = dict(options or {})
        overrides = options.pop("params", None) or {}
        if options:
            raise ValueError(f"unknown reset options {sorted(options)}; accepted: ['params']")
        rng = self.np_random
        # one draw seeds the parameter stream, so the rest of the episode draws the same
        # numbers whether randomization is on or off, and info["params"] replays exactly
        param_seed = int(rng.integers(2**63))  # drawn always; the generator is made only when used
        if self._backend is None or self.task.rebuild_scene(rng):
            self._compile(self.task.build_scene(rng))
        else:
            self._backend.reset()
        self.params = self._draw_params(param_seed, overrides)
        with self._backend.batched_params():
            self._applier.apply(self.params, self.param_space)
        if self._appearance_changed:
            self._appearance_changed = False
            for view in (self._view, self._obs_view):
                if view is not None:
                    view.set_appearance(self._appearance)
        self._effects.reset()
        self.task.reset(self._backend, rng)
        if self.sensors is not None:
            self.sensors.reset(self._backend, rng, self._backend.time_s)
        self._needs_reset = False
        self._obs_count += 1
        self._last_obs = self._observe(self._backend)
        if self._effects.obs_noise_std > 0:
            self._last_obs = self._noisy_obs(self._last_obs)
        return self._last_obs, {"is_success": False, "physics_diverged": False, "params": dict(self.params)}

    def step(self, action):
        if self._needs_reset:
            raise gymnasium.error.ResetNeeded("call reset() before step() (also after an episode ended by divergence)")
        action = self._validate_action(action)
        backend, task, fx = self._backend, self.task, self._effects
        advance = backend.step if self.sensors is None else self._advance_sensed
        if fx.active:  # action noise, latency, control-rate jitter
            delayed, first, n = fx.plan_step(action, self._n_substeps, self._np_random)  # seeded at reset
            if first:  # the previous commands and forces act `first` substeps more
                backend.hold_commands(first)
            task.apply_action(backend, delayed)
            advance(n, keep_forces=fx.split_substeps > 0)  # they act on into the next step
        else:
            task.apply_action(backend, action)
            advance(self._n_substeps)
        if backend.diverged:
            return self._diverged_step()
        self._obs_count += 1
        obs = self._observe(backend)
        if fx.obs_noise_std > 0:
            obs = fx.noisy_obs(obs, self._np_random, self._state_low, self._state_high) if self._state_only else self._noisy_obs(obs)
        terms = task.reward_terms(backend, action)
        terminated = task.is_terminated(backend)
        info = {"reward_terms": terms, "is_success": task.is_success(backend), "physics_diverged": False}
        extra = task.extra_info(backend)
        if extra:
            info.update(extra)
        self._last_obs = obs
        return obs, float(sum(terms.values())), terminated, False, info

    # -- full state, for calibration: engine + task + latency queue --------------------------
    def get_state(self, portable: bool = False) -> np.ndarray:
        """The whole simulation state as one flat array (engine state, the task's own state,
        the recent actions): :meth:`set_state` restores it exactly under the same parameters.
        ``portable``: the engine part as named body poses, velocities and joint states, which
        the other engine can restore too (no contact caches, so close rather than exact)."""
        engine = self._portable_state() if portable else self.backend.get_state()
        return np.concatenate([engine, self.task.get_state(), self._effects.get_state()])

    def _state_sizes(self, portable: bool) -> tuple[int, int, int]:
        """(engine, task, effects) lengths of :meth:`get_state`, measured once per compiled
        world: calibration restores states thousands of times per fit."""
        if portable not in self._state_size_cache:
            self._state_size_cache[portable] = tuple(len(part) for part in (
                self._portable_state() if portable else self.backend.get_state(),
                self.task.get_state(), self._effects.get_state()))
        return self._state_size_cache[portable]

    def _portable_layout(self) -> tuple[list[str], list[str]]:
        scene = self.backend.scene
        free = [b.name for b, _, _ in scene.walk() if b.is_free]
        joints = [b.joint.name for b, _, _ in scene.walk() if b.joint is not None and not b.is_free]
        return free, joints

    def _portable_state(self) -> np.ndarray:
        """[pos, quat, linear and angular velocity of each free body; q, q̇ of each joint]."""
        backend = self.backend
        free, joints = self._portable_layout()
        parts = [np.concatenate([*backend.body_pose(b), *backend.body_velocity(b)]) for b in free]
        if joints:
            q, qd = backend.joint_states(joints)
            parts += [q, qd]
        return np.concatenate(parts) if parts else np.zeros(0)

    def _set_portable_state(self, state: np.ndarray) -> None:
        backend = self.backend
        free, joints = self._portable_layout()
        for i, b in enumerate(free):
            x = state[13 * i:13 * i + 13]
            backend.set_body_pose(b, x[0:3], x[3:7])
            backend.set_body_velocity(b, x[7:10], x[10:13])
        k = 13 * len(free)
        for j, name in enumerate(joints):
            backend.set_joint_position(name, float(state[k + j]), float(state[k + len(joints) + j]))

    def set_state(self, state: np.ndarray, portable: bool = False) -> Any:
        """Restore :meth:`get_state` (after a reset, under the parameters then in force);
        returns the observation there. Sensors restart their noise from here."""
        state = np.asarray(state, dtype=np.float64)
        n_engine, n_task, n_fx = self._state_sizes(portable)
        if state.shape != (n_engine + n_task + n_fx,):
            raise ValueError(f"state must have shape ({n_engine + n_task + n_fx},), got {state.shape}")
        if portable:
            self._set_portable_state(state[:n_engine])
        else:
            self.backend.set_state(state[:n_engine])
        self.task.set_state(self.backend, state[n_engine:n_engine + n_task])
        fx = self._effects
        fx.set_state(state[n_engine + n_task:])
        if fx.split_substeps and fx.last_applied is not None:
            # the next step's held substeps run on the last applied action's forces: put them back
            self.task.restore_forces(self.backend, fx.last_applied)
        self._obs_count += 1
        self._last_obs = self._observe(self.backend)
        return self._last_obs

    def render(self) -> np.ndarray | None:
        """An RGB frame of the current state for ``render_mode="rgb_array"`` (else None)."""
        if self.render_mode != "rgb_array":
            return None
        if self._view is None:
            from simsuite.render.view import CameraView

            self._view = CameraView(None, width=640, height=480)
            self._show_appearance(self._view)
        return self._view.frame(self.backend).rgb

    def close(self) -> None:
        for view in (self._view, self._obs_view):
            if view is not None:
                view.close()
        self._view = self._obs_view = None
        if self._backend is not None:
            self._backend.close()
            self._backend = None
        self._needs_reset = True

    # -- internals ---------------------------------------------------------------------
    def _advance_sensed(self, n_substeps: int, keep_forces: bool = False) -> None:
        """``backend.step`` with sensors: they sample at their own rates between substeps."""
        self.sensors.advance(self._backend, n_substeps, self._timestep_s, keep_forces)

    def _noisy_obs(self, obs):
        """``observation.noise_std`` (> 0) on the task's state vector (inside its bounds)."""
        fx, rng = self._effects, self._np_random  # seeded at reset
        if self._state_only:
            return fx.noisy_obs(obs, rng, self._state_low, self._state_high)
        if isinstance(obs, dict) and "state" in obs:
            obs["state"] = fx.noisy_obs(obs["state"], rng, self._state_low, self._state_high)
        return obs

    def _show_appearance(self, view) -> None:
        if self._appearance:
            view.set_appearance(self._appearance)

    def _draw_params(self, seed: int, overrides: Mapping[str, Any]) -> dict[str, Any]:
        """This episode's values: drawn from the space (a generator seeded with ``seed``) when
        randomizing, then the exact values of ``reset(options={"params": ...})`` (checked
        against the space's bounds)."""
        if not isinstance(overrides, Mapping):
            raise ParamError(f"reset option 'params' must be a mapping of name to value, got {type(overrides).__name__}")
        values = self.param_space.sample(np.random.default_rng(seed)) if self._randomize else {}
        for name, value in overrides.items():
            if name in self.param_space:
                values[name] = self.param_space[name].check(value)
            else:
                self._applier.expand(name)  # an engine, task or sensor name, else a clear error
                values[name] = value
        return values

    def _owners(self) -> tuple[dict[str, Any], set[str]]:
        """Every applicable name with its (getter, setter), and the names a compile resets."""
        world = {**backend_owners(self._backend), **self._visual_owners()}
        owners = {**world, **task_owners(self.task)}
        owners.update(sensor_owners(self.sensors.sensors.values() if self.sensors is not None else ()))
        owners.update(effect_owners(self._effects))
        return owners, set(world)

    def _visual_owners(self) -> dict[str, Any]:
        """Appearance parameters (colours, textures, lights, camera jitter, distractors),
        applied to every camera view of this env."""
        try:
            from simsuite.render.appearance import nominal_visual
        except ImportError:
            return {}
        nominal = nominal_visual(self._backend.scene)
        self._appearance = {}  # a new world starts with its own look, in every view too
        for view in (self._view, self._obs_view):
            if view is not None:
                view.set_appearance({})

        def setter(name: str, value: Any) -> None:  # views get the whole look once per reset
            self._appearance[name] = value
            self._appearance_changed = True

        return {n: ((lambda v=v: v), (lambda value, n=n: setter(n, value))) for n, v in nominal.items()}

    def _camera_sources(self) -> dict[str, tuple[Callable[[Backend], Any], gymnasium.Space]]:
        """rgb, depth and seg of every observation camera, from one render pass per observation."""
        from simsuite.render.view import observation_cameras

        cams = self._obs_cameras = observation_cameras(self._camera_options)
        far_m = float(cams.renderer_options.get("far_m", 100.0))  # background and beyond read far_m, not inf
        sources = {}
        for name, key, (width, height) in zip(cams.names, cams.keys, cams.sizes):
            hw = (height, width)
            sources[key + "rgb"] = ((lambda backend, n=name: self._camera_frame(backend)[n].rgb), gymnasium.spaces.Box(0, 255, hw + (3,), np.uint8))
            sources[key + "depth"] = ((lambda backend, n=name: np.minimum(self._camera_frame(backend)[n].depth, np.float32(far_m))),
                                      gymnasium.spaces.Box(0.0, far_m, hw, np.float32))
            sources[key + "seg"] = ((lambda backend, n=name: self._camera_frame(backend)[n].seg),
                                    gymnasium.spaces.Box(0, np.iinfo(np.int32).max, hw, np.int32))
        return sources

    def _camera_keys(self, name: str) -> list[str]:
        """Observation keys a requested name stands for: ``rgb`` is every camera's rgb."""
        return [key + name for key in self._obs_cameras.keys] if name in CAMERA_MODALITIES else [name]

    def _camera_frame(self, backend: Backend) -> dict[str, Any]:
        """Every observation camera's frame, rendered once per observation."""
        if self._frame_cache[0] != self._obs_count:
            if self._obs_view is None:
                self._obs_view = self._obs_cameras.view()
                self._show_appearance(self._obs_view)
            self._frame_cache = (self._obs_count, self._obs_view.frames(backend))
        return self._frame_cache[1]

    def _make_sensors(self, obs_names: tuple[str, ...], overrides: Mapping[str, Any]) -> SensorSuite | None:
        """The task's default sensors, overridden by name; those observed or asked for run."""
        defaults = dict(self.task.default_sensors())
        specs = dict(defaults)
        for name, spec in overrides.items():
            if spec is None:
                specs.pop(name, None)
                continue
            mount = {k: v for k, v in defaults.get(name, {}).items() if k in ("body", "site", "pos", "quat")}
            spec = {"preset": spec} if isinstance(spec, str) else dict(spec)
            specs[name] = {**mount, **spec, "name": name}
        wanted = [n for n in specs if n in obs_names or n in overrides]
        if not wanted:
            return None
        return SensorSuite([make_sensor({**specs[n], "name": n}) for n in wanted])

    def _observation_plan(self, names: tuple[str, ...]) -> tuple[Callable[[Backend], Any], gymnasium.Space]:
        """The observation function and space for the requested modalities."""
        sources: dict[str, tuple[Callable[[Backend], Any], gymnasium.Space]] = {
            "state": (self.task.observe, self.task.observation_space)
        }
        if any(n in CAMERA_MODALITIES or n.endswith(CAMERA_MODALITIES) for n in names):
            sources.update(self._camera_sources())
            names = tuple(key for n in names for key in self._camera_keys(n))
        if self.sensors is not None:
            suite = self.sensors
            for name, space in suite.spaces().items():
                sources[name] = ((lambda backend, n=name: suite.observations()[n].copy()), space)
        unknown = [n for n in names if n not in sources]
        if not names or unknown:
            choices = list(MODALITIES) + list(self.task.default_sensors())
            raise ValueError(f"unknown observation modalities {unknown or names}; choose from {choices}")
        if len(names) == 1:
            return sources[names[0]]
        space = gymnasium.spaces.Dict({n: sources[n][1] for n in names})
        return (lambda backend: {n: sources[n][0](backend) for n in names}), space

    def _compile(self, scene) -> None:
        if self._backend is None:
            self._backend = make_backend(self.backend_name)
        self._backend.compile(scene)
        self._state_size_cache: dict[bool, tuple[int, int, int]] = {}
        n = self.task.control_dt_s / scene.timestep_s
        if self._effects is None:
            self._effects = Effects(self.task.control_dt_s, scene.timestep_s, self._low, self._high)
        self._effects.h_s = scene.timestep_s
        if self._applier is None:
            self._applier = Applier(self._owners()[0])

        else:
            owners, fresh = self._owners()
            self._applier.rebind(owners, fresh)
        self._n_substeps = max(1, round(n))
        self._timestep_s = scene.timestep_s
        if abs(n - self._n_substeps) > 1e-6:
            raise ValueError(f"control_dt_s {self.task.control_dt_s} is not a multiple of the physics timestep {scene.timestep_s}")

    def _validate_action(self, action) -> np.ndarray:
        """Shape and finiteness are errors; values outside the box are clipped to it."""
        try:
            boxed = native.box_action(action, self._low, self._high)
        except ValueError as exc:  # the wrong shape, or not numbers
            raise ActionError(str(exc)) from None
        if boxed is None:
            raise ActionError(f"action contains NaN or inf: {action}")
        return boxed

    def _diverged_step(self):
        """End the episode cleanly: the engine blew up, the process lives on."""
        self._needs_reset = True
        info = {"reward_terms": {}, "is_success": False, "physics_diverged": True}
        return self._last_obs, 0.0, True, False, info

    # -- pickling: rebuild from the constructor arguments ------------------------------
    def __getstate__(self) -> dict[str, Any]:
        return {"init_args": self._init_args}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(**state["init_args"])

