"""SimSuite/Grasp-v0: a Franka Panda lifts one designated object off a table with 1–5 objects.

The hand points down; the agent moves it in Cartesian steps and opens or closes the
gripper. Steps become joint targets through damped-least-squares IK computed from the
scene (simsuite.kinematics), so the controller is the same arithmetic on both engines.
Position servos hold the arm, with gravity compensated through their targets. Physics
runs at 4 ms, 10 steps per action (25 Hz control).

## Action Space
``Box(-1, 1, (5,), float32)``: ``[dx, dy, dz, dyaw, grip]``. The hand's goal is where the
grasp frame is now, moved by up to ``max_step_m`` (0.02 m) along world x, y, z and turned by
up to 0.15 rad about the vertical (``dyaw``; the 4-vector lacks it when ``control_yaw=False``),
kept in a box above the table and within ±1.65 rad of yaw. ``grip`` sets the finger
opening: −1 closed, +1 fully open (0.08 m), both fingers alike, their targets moving at
most 0.2 m/s (the URDF's finger speed).

## Observation Space
``Box((32,), float32)``, clipped to its bounds: arm and finger joint positions (9,
[rad, m]) and velocities (9, clipped to ±10 rad/s, ±2 m/s), grasp-frame position (3, [m]),
gripper opening (1, [m]), target object position (3, [m], within ±2 m in x, y and
−0.1–2.5 m in z) and quaternion (4, w ≥ 0), target minus grasp-frame position (3, [m]).

## Rewards
Named, weighted terms (``info["reward_terms"]``), each in [0, weight]:
``reach`` = 1·tolerance(hand–target distance, 0.01 m, margin 0.25 m);
``grasp`` = 1 while both fingers touch the target;
``lift`` = 2·tolerance(lift, ≥ ``lift_height_m``, margin ``lift_height_m``), only while grasped.

## Starting State
A new set of 1–5 objects every ``rebuild_every`` episodes (and on every seeded reset;
objects cost physics time even when parked, so a set is not larger than it is used);
each episode places all of them at random, non-overlapping poses and yaws, the first
one drawn being the target (one that finds no free spot waits behind the robot). The
hand starts open, pointing down at a random point 0.25–0.4 m above the table, yaw within
±0.3 rad. Everything comes from the env's RNG.

## Episode End
Success (``info["is_success"]``): the target is ≥ ``lift_height_m`` (0.1 m) above where
it rested and held between both fingers for ``hold_time_s`` (0.5 s); it terminates the
episode when ``terminate_on_success``. A target that falls off the table (its centre 5 cm
below the top) also terminates it, unsuccessfully. Truncated after 200 steps (8 s) by the
TimeLimit.

## Arguments
``num_objects`` ((1, 5): an int or a (min, max) range within 1–5), ``object_kinds``
(any of box, sphere, capsule, cylinder, mesh), ``rebuild_every`` (10 episodes, ≥ 1),
``control_yaw`` (True), ``terminate_on_success`` (True), ``lift_height_m`` (0.1),
``hold_time_s`` (0.5), ``max_step_m`` (0.02).

## Domain Randomization
``randomize=True`` samples this space at every reset (``GraspTask.param_space()``,
where a comment on each line says why its range is what it is); ``info["params"]`` holds the
values drawn. Pass a file or a ``ParamSpace`` to ``randomize=`` to change it.

| parameter | distribution | nominal | unit | meaning |
|---|---|---|---|---|
| `object.mass_kg` | logU(0.03, 0.3) | 0.1 | kg | mass of each object |
| `object.friction` | U(0.4, 1) | 0.7 |  | object surface friction |
| `finger.friction` | U(0.8, 1.2) | 1 |  | fingertip friction |
| `table.friction` | U(0.5, 1) | 0.8 |  | table top friction |
| `arm.gain` | U(0.8, 1.2) | 1 |  | joint position servo gain |
| `actuation.latency_s` | U(0, 0.04) | 0 | s | command-to-motor delay |
| `observation.noise_std` | U(0, 0.005) | 0 |  | additive, state units |
| `table.color_r` | U(0, 1) | 0.55 |  | table red |
| `table.color_g` | U(0, 1) | 0.4 |  | table green |
| `table.color_b` | U(0, 1) | 0.3 |  | table blue |
| `table.texture` | one of `none`, `checker`, `noise`, `gradient` | none |  | table pattern |
| `light.azimuth_rad` | U(-3.142, 3.142) | -0.69 | rad | key light heading |
| `light.elevation_rad` | U(0.3, 1.4) | 1.2 | rad | key light height |
| `light.intensity` | U(0.5, 1.5) | 1 |  | key light brightness |
| `camera.dfov_deg` | U(-3, 3) | 0 | deg | field-of-view jitter |
| `camera.dx_m` | U(-0.02, 0.02) | 0 | m | camera x offset |
| `camera.dy_m` | U(-0.02, 0.02) | 0 | m | camera y offset |
| `camera.dz_m` | U(-0.02, 0.02) | 0 | m | camera z offset |
| `distractors.count` | U{0…4} | 0 |  | visual-only shapes |
| `distractors.seed` | U{0…2147483647} | 0 |  | their placement |

## Version History
- v0: first version.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import gymnasium
import numpy as np

from simsuite.backends.base import Backend
from simsuite.randomization import Param, ParamSpace, visual_params
from simsuite.kinematics import KinematicTree
from simsuite.rewards import tolerance
from simsuite.scene import Scene
from simsuite.task import Task
from simsuite.worlds.tabletop import (
    ARM_JOINTS, EE_BODY, FINGER_BODIES, FINGER_JOINTS, FINGER_MAX_M, FINGERTIP_BELOW_EE_M, OBJECT_KINDS, READY_Q,
    ROBOT_ROOT, Tabletop, TabletopConfig, build_tabletop, load_panda, place_objects,
)

MAX_OBJECTS = 5
OBS_SIZE = 32


@dataclass(frozen=True)
class GraspConfig:
    """Controller, reward and bound constants (frozen: copy with ``dataclasses.replace``)."""

    max_yaw_step_rad: float = 0.15  # per step at |dyaw| = 1
    yaw_limit_rad: float = 1.65
    workspace_x_m: tuple[float, float] = (0.25, 0.75)
    workspace_y_m: tuple[float, float] = (-0.35, 0.35)
    workspace_z_m: tuple[float, float] = (FINGERTIP_BELOW_EE_M + 0.002, 0.5)  # above the table top
    start_box_m: tuple[tuple[float, float, float], tuple[float, float, float]] = ((0.3, -0.15, 0.25), (0.5, 0.15, 0.4))
    start_yaw_rad: float = 0.3
    ik_damping: float = 0.01  # [m]
    max_joint_step_rad: float = 0.25  # per control step
    finger_speed_m_s: float = 0.2  # finger targets move no faster (the URDF's limit): no hammering impacts
    reach_weight: float = 1.0
    grasp_weight: float = 1.0
    lift_weight: float = 2.0
    touch_distance_m: float = 1e-3  # a contact point farther apart than this is not a touch
    max_arm_speed_rad_s: float = 10.0  # observation clip
    max_finger_speed_m_s: float = 2.0


class GraspTask(Task):
    control_dt_s = 0.04  # 10 physics steps of 4 ms

    def __init__(
        self,
        num_objects: int | tuple[int, int] = (1, MAX_OBJECTS),
        object_kinds: tuple[str, ...] = OBJECT_KINDS,
        rebuild_every: int = 10,
        control_yaw: bool = True,
        terminate_on_success: bool = True,
        lift_height_m: float = 0.1,
        hold_time_s: float = 0.5,
        max_step_m: float = 0.02,
    ):
        self.num_objects = _object_range(num_objects)
        kinds = _object_kinds(object_kinds)
        if isinstance(rebuild_every, bool) or not isinstance(rebuild_every, int) or rebuild_every < 1:
            raise ValueError(f"rebuild_every must be an integer >= 1 (episodes per object set), got {rebuild_every!r}")
        for name, value, lo, hi in (("lift_height_m", lift_height_m, 0.01, 0.3), ("hold_time_s", hold_time_s, 0.0, 5.0), ("max_step_m", max_step_m, 1e-3, 0.05)):
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not lo <= value <= hi:
                raise ValueError(f"{name} must be a number in [{lo}, {hi}], got {value!r}")
        self.rebuild_every, self.control_yaw = rebuild_every, bool(control_yaw)
        self.terminate_on_success, self.lift_height_m = bool(terminate_on_success), float(lift_height_m)
        self.max_step_m, self.config = float(max_step_m), GraspConfig()
        self.hold_steps = max(1, math.ceil(hold_time_s / self.control_dt_s - 1e-9))
        self.world_config = TabletopConfig(object_kinds=kinds)
        self._panda = load_panda(self.world_config)  # parsed once; each world gets a copy
        self._index_robot()
        self._obs_low, self._obs_high = _observation_bounds(self.kinematics, self._q_index, self.world_config, self.config)
        cfg, table_z = self.config, self.world_config.table_height_m
        self._workspace_low = np.array([cfg.workspace_x_m[0], cfg.workspace_y_m[0], table_z + cfg.workspace_z_m[0]])
        self._workspace_high = np.array([cfg.workspace_x_m[1], cfg.workspace_y_m[1], table_z + cfg.workspace_z_m[1]])
        self.world: Tabletop | None = None
        self._built_rng: np.random.Generator | None = None
        self._episodes_on_world = 0
        self.episode = 0  # resets so far (the expert watches it to notice a new episode)

    def _index_robot(self) -> None:
        """The arm's kinematics and every name/index list the per-step code needs, once."""
        robot_only = Scene(name="panda")
        robot_only.add(self._panda.root)
        self.kinematics = KinematicTree(robot_only, ROBOT_ROOT)
        self._joints = ARM_JOINTS + FINGER_JOINTS  # observation order
        self._q_index = self.kinematics.joint_indices(self._joints)  # where they sit in q (tree order)
        self._arm, self._fingers = self._q_index[:7], self._q_index[7:]
        if not np.array_equal(self.kinematics.chain_joints(EE_BODY), self._arm):  # dls_step moves the chain's joints
            raise RuntimeError(f"the joints from {ROBOT_ROOT} to {EE_BODY} are not {ARM_JOINTS}")
        if np.array_equal(self._arm, np.arange(7)):
            self._arm = slice(0, 7)  # a view: cheaper indexing every step
        self._arm_low, self._arm_high = self.kinematics.joint_ranges[self._arm].T.copy()
        motors = {a.joint: a for a in self._panda.actuators}
        self._motors = tuple(motors[j].name for j in self.kinematics.joint_names)  # tree order, as q
        self._kp = np.array([motors[j].kp for j in self.kinematics.joint_names])
        self._ready = np.empty(len(self._joints))
        self._ready[self._q_index] = READY_Q + (FINGER_MAX_M, FINGER_MAX_M)

    # -- world -------------------------------------------------------------------------
    def build_scene(self, rng: np.random.Generator) -> Scene:
        count = int(rng.integers(self.num_objects[0], self.num_objects[1] + 1))
        self.world = build_tabletop(rng, self.world_config, self._panda, pool_size=count)
        self._built_rng, self._episodes_on_world = rng, 0
        return self.world.scene

    def rebuild_scene(self, rng: np.random.Generator) -> bool:
        """A new object set every ``rebuild_every`` episodes, and whenever the env was
        re-seeded (a new generator), so a seeded reset always replays the same world."""
        return rng is not self._built_rng or self._episodes_on_world >= self.rebuild_every

    @property
    def action_space(self) -> gymnasium.spaces.Box:
        return gymnasium.spaces.Box(-1.0, 1.0, (5 if self.control_yaw else 4,), np.float32)

    @property
    def observation_space(self) -> gymnasium.spaces.Box:
        return gymnasium.spaces.Box(self._obs_low.astype(np.float32), self._obs_high.astype(np.float32), dtype=np.float32)

    def reset(self, backend: Backend, rng: np.random.Generator) -> None:
        assert self.world is not None
        self._episodes_on_world += 1
        self.episode += 1
        cfg, table_z = self.config, self.world_config.table_height_m
        placed = place_objects(rng, self.world.objects, len(self.world.objects), self.world_config)
        for obj, pos, quat in placed:
            backend.set_body_pose(obj.name, pos, quat)
        self.target, self.target_rest_z = placed[0][0], float(placed[0][1][2])
        self.placed = [obj.name for obj, _, _ in placed]
        start = rng.uniform(*cfg.start_box_m) + (0.0, 0.0, table_z)
        self._yaw = float(rng.uniform(-cfg.start_yaw_rad, cfg.start_yaw_rad))
        solved = self.kinematics.solve_ik(
            self._ready, EE_BODY, start, _hand_rotation(self._yaw), q_nominal=self._ready, nullspace_gain=0.1
        )
        for name, value in zip(self.kinematics.joint_names, solved.q):
            backend.set_joint_position(name, float(value))
        self._q_cmd, self._frames = solved.q, solved.frames
        self._finger_cmd = FINGER_MAX_M
        self._goal = self.kinematics.body_pose(None, EE_BODY, frames=self._frames)[0]
        self._send_targets(backend)
        self._set_target(backend, self.target)
        self._hold, self._fresh, self._stepped, self._fallen = 0, False, False, False

    def _set_target(self, backend: Backend, target) -> None:
        self.target = target
        # no finger is farther than 0.1 m from the grasp frame: beyond this they cannot touch it
        self._touch_range_m = target.footprint_m + target.height_m + 0.1
        self._pose_bodies = (EE_BODY, target.name)  # read together, once per step

    # -- full state (with the engine's): joint commands, the target and episode bookkeeping ----
    def get_state(self) -> np.ndarray:
        target = [self.world.objects.index(self.target), self.target_rest_z]  # a reset may pick another
        return np.concatenate([self._q_cmd, [self._finger_cmd, self._yaw], self._goal,
                               [self._hold, float(self._stepped), float(self._fallen)], target])

    def set_state(self, backend: Backend, state: np.ndarray) -> None:
        s = np.asarray(state, dtype=np.float64)
        n = len(self._q_cmd)
        self._q_cmd = s[:n].copy()
        self._finger_cmd, self._yaw = float(s[n]), float(s[n + 1])
        self._goal = s[n + 2:n + 5].copy()
        self._hold, self._stepped, self._fallen = int(s[n + 5]), bool(s[n + 6]), bool(s[n + 7])
        self._set_target(backend, self.world.objects[int(s[n + 8])])
        self.target_rest_z = float(s[n + 9])
        self._frames = self.kinematics.frames(self._q_cmd)
        self._send_targets(backend)
        self._fresh = False

    # -- control -----------------------------------------------------------------------
    def apply_action(self, backend: Backend, action: np.ndarray) -> None:
        """The goal is relative to the measured hand (as gymnasium-robotics' Fetch does):
        no hidden integrator winds up when the hand is blocked or lags."""
        snap = self._snapshot(backend)
        goal = snap["ee"] + action[:3] * self.max_step_m
        self._goal = np.minimum(np.maximum(goal, self._workspace_low), self._workspace_high)  # (np.clip is slower)
        if self.control_yaw:
            yaw = snap["yaw"] + float(action[3]) * self.config.max_yaw_step_rad
            self._yaw = min(max(yaw, -self.config.yaw_limit_rad), self.config.yaw_limit_rad)
        cfg = self.config
        dq, _, _ = self.kinematics.dls_step(self._frames, EE_BODY, self._goal, _hand_rotation(self._yaw), damping=cfg.ik_damping)
        largest = np.abs(dq).max()
        if largest > cfg.max_joint_step_rad:
            dq *= cfg.max_joint_step_rad / largest
        self._q_cmd[self._arm] = np.minimum(np.maximum(self._q_cmd[self._arm] + dq, self._arm_low), self._arm_high)
        wanted = (float(action[-1]) + 1.0) / 2.0 * FINGER_MAX_M
        reach = cfg.finger_speed_m_s * self.control_dt_s
        self._finger_cmd = min(max(wanted, self._finger_cmd - reach), self._finger_cmd + reach)
        self._q_cmd[self._fingers] = self._finger_cmd
        self._frames = self.kinematics.frames(self._q_cmd)
        self._send_targets(backend)
        self._fresh, self._stepped = False, True

    def _send_targets(self, backend: Backend) -> None:
        """Joint targets offset by gravity torque / kp: the servo then holds them exactly."""
        targets = self._q_cmd + self.kinematics.gravity_torques(frames=self._frames) / self._kp
        backend.set_control_array(self._motors, targets)

    # -- observation, reward, episode end -------------------------------------------------
    def _snapshot(self, backend: Backend) -> dict:
        """Everything observe/reward/success read, computed once per step."""
        if self._fresh:
            return self._snap
        q, qd = backend.joint_states(self._joints)
        pos, quat = backend.body_poses(self._pose_bodies)
        ee, target = pos[0], pos[1]
        w, x, y, z = quat[0].tolist()
        yaw = math.atan2(2.0 * (x * y + w * z), 1.0 - 2.0 * (y * y + z * z))  # the hand's x axis heading
        t_quat = quat[1]
        grasped = False
        if math.dist(target, ee) < self._touch_range_m:  # else the fingers cannot touch it
            touching = {c.other for c in backend.contacts(self.target.name) if c.distance_m <= self.config.touch_distance_m}
            grasped = all(f in touching for f in FINGER_BODIES)
        lift = float(target[2]) - self.target_rest_z
        self._fallen = float(target[2]) < self.world_config.table_height_m - 0.05  # off the table: over
        if self._stepped:
            self._hold = self._hold + 1 if grasped and lift >= self.lift_height_m else 0
        t_quat = t_quat if t_quat[0] >= 0 else -t_quat  # q and −q are one rotation: report w ≥ 0
        self._snap = dict(q=q, qd=qd, ee=ee.copy(), yaw=yaw, target=target.copy(), target_quat=t_quat, grasped=grasped, lift=lift)
        self._fresh = True
        return self._snap

    def observe(self, backend: Backend) -> np.ndarray:
        s = self._snapshot(backend)
        q, qd, ee, target = s["q"], s["qd"], s["ee"], s["target"]
        obs = np.concatenate([q, qd, ee, [q[7] + q[8]], target, s["target_quat"], target - ee])
        return np.minimum(np.maximum(obs, self._obs_low), self._obs_high).astype(np.float32)

    def reward_terms(self, backend: Backend, action: np.ndarray) -> dict[str, float]:
        s, cfg = self._snapshot(backend), self.config
        distance = math.dist(s["target"], s["ee"])
        lifted = tolerance(s["lift"], (self.lift_height_m, math.inf), margin=self.lift_height_m) if s["grasped"] else 0.0
        return {
            "reach": cfg.reach_weight * tolerance(distance, (0.0, 0.01), margin=0.25),
            "grasp": cfg.grasp_weight * float(s["grasped"]),
            "lift": cfg.lift_weight * lifted,
        }

    def is_success(self, backend: Backend) -> bool:
        self._snapshot(backend)
        return self._hold >= self.hold_steps

    def is_terminated(self, backend: Backend) -> bool:
        """Success (when ``terminate_on_success``), or the target fell off the table."""
        self._snapshot(backend)
        return (self.terminate_on_success and self._hold >= self.hold_steps) or self._fallen

    def param_space(self) -> ParamSpace:
        """Grasp-v0's default randomization (``randomize=True``)."""
        return ParamSpace([
            # Object mass: log-U(0.03, 0.3) kg, all objects: foam to wood
            Param("object.mass_kg", 0.1, 0.03, 0.3, dist="loguniform", unit="kg", targets=("object_*.mass_kg",), doc="mass of each object"),
            # Object friction: U(0.4, 1.0): plastic to rubber
            Param("object.friction", 0.7, 0.4, 1.0, targets=("object_*.friction",), doc="object surface friction"),
            # Finger friction: U(0.8, 1.2): fingertip pads
            Param("finger.friction", 1.0, 0.8, 1.2, targets=("panda_*finger.friction",), doc="fingertip friction"),
            # Table friction: U(0.5, 1.0)
            Param("table.friction", 0.8, 0.5, 1.0, doc="table top friction"),
            # Actuator gain: U(0.8, 1.2): servo tuning
            Param("arm.gain", 1.0, 0.8, 1.2, targets=("panda_joint*_motor.gain",), doc="joint position servo gain"),
            # Actuation latency: U(0, 0.04) s: one control step of the real arm's loop
            Param("actuation.latency_s", 0.0, 0.0, 0.04, unit="s", doc="command-to-motor delay"),
            # Observation noise: U(0, 0.005) m-scale: object pose estimation error
            Param("observation.noise_std", 0.0, 0.0, 0.005, doc="additive, state units"),
            # Visual (camera observations): table look, key light, camera jitter, distractors
            *visual_params("table", (0.55, 0.4, 0.3), -0.69, 1.2),
        ])

    def extra_info(self, backend: Backend) -> dict:
        s = self._snapshot(backend)
        return {"grasped": s["grasped"], "lift_m": s["lift"]}

    # -- for the scripted expert ----------------------------------------------------------
    def hand_yaw(self, backend: Backend) -> float:
        """The hand's measured yaw about world z [rad] (0: fingers close along world y)."""
        return self._snapshot(backend)["yaw"]


def _hand_rotation(yaw: float) -> np.ndarray:
    """Grasp frame pointing down (z to −z, x along the heading ``yaw``; at yaw 0 the fingers
    close along world y): Rz(yaw) · diag(1, −1, −1)."""
    c, s = math.cos(yaw), math.sin(yaw)
    return np.array([[c, s, 0.0], [s, -c, 0.0], [0.0, 0.0, -1.0]])


def _object_kinds(object_kinds: str | tuple[str, ...]) -> tuple[str, ...]:
    """Validate ``object_kinds``: one kind or a non-empty selection of OBJECT_KINDS."""
    kinds = (object_kinds,) if isinstance(object_kinds, str) else tuple(object_kinds)
    if not kinds or any(k not in OBJECT_KINDS for k in kinds):
        raise ValueError(f"object_kinds must be a non-empty selection of {OBJECT_KINDS}, got {object_kinds!r}")
    return kinds


def _object_range(num_objects: int | tuple[int, int]) -> tuple[int, int]:
    """Validate ``num_objects``: an int or a (min, max) pair within 1..MAX_OBJECTS."""
    pair = (num_objects, num_objects) if isinstance(num_objects, int) and not isinstance(num_objects, bool) else num_objects
    try:
        lo, hi = (int(v) for v in pair)  # type: ignore[union-attr]
        valid = pair == (lo, hi) or tuple(pair) == (lo, hi)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        valid = False
    if not valid or not 1 <= lo <= hi <= MAX_OBJECTS:
        raise ValueError(f"num_objects must be an int or a (min, max) pair with 1 <= min <= max <= {MAX_OBJECTS}, got {num_objects!r}")
    return lo, hi


def _observation_bounds(tree: KinematicTree, q_index: np.ndarray, world: TabletopConfig, cfg: GraspConfig) -> tuple[np.ndarray, np.ndarray]:
    """Bounds of the state vector (see the module docstring), float32 values held as float64
    so that observe() clips to exactly what the float32 space holds."""
    ranges = tree.joint_ranges[q_index]
    margin = np.r_[np.full(7, 0.1), np.full(2, 0.01)]  # servos may press slightly past a limit
    speed = np.r_[np.full(7, cfg.max_arm_speed_rad_s), np.full(2, cfg.max_finger_speed_m_s)]
    reach = 1.3  # [m] farther than the Panda's grasp frame can get from its base
    z = world.table_height_m
    low = np.r_[ranges[:, 0] - margin, -speed, -reach, -reach, 0.0, -0.02, -2.0, -2.0, -0.1, -np.ones(4), np.full(3, -4.0)]
    high = np.r_[ranges[:, 1] + margin, speed, reach, reach, z + 0.333 + reach, 2 * FINGER_MAX_M + 0.02, 2.0, 2.0, 2.5, np.ones(4), np.full(3, 4.0)]
    assert low.shape == (OBS_SIZE,)
    return low.astype(np.float32).astype(np.float64), high.astype(np.float32).astype(np.float64)
