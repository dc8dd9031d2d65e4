"""SimSuite/Nav-v0: a TurtleBot3-Burger-class differential-drive robot drives to a goal
through a procedural indoor floor plan (rooms, corridors, doors, furniture) without
touching anything.

The robot has real wheel physics on both engines: two tyres on hinge joints driven by
torque-limited velocity servos, and a frictionless ball caster (see
``worlds/floorplan.py`` for the plan generator, its guarantees, and the robot). Physics
runs at 200 Hz (20 substeps per 0.1 s agent step).

## Action Space
``Box(-1, 1, (2,), float32)``: linear and angular velocity commands as fractions of
0.22 m/s and 2.84 rad/s. They become wheel speeds through the differential-drive
kinematics (ω_R,L = (v ± ω·b/2) / r); when a wheel would exceed its speed limit both are
scaled down together, keeping the curvature. With ``accel_limits`` the commands are
rate-limited first.

## Observation Space
``Box((7 + n_rays,), float32)`` (10 + n_rays with ``guidance``), SI units, in the robot frame (x forward, y left):

| index | quantity | range |
|---|---|---|
| 0 | distance to the goal [m] | 0 .. the plan's largest diagonal |
| 1, 2 | cos, sin of the goal bearing | −1 .. 1 |
| 3 | forward speed [m/s] | ±0.44, clipped |
| 4 | yaw rate [rad/s] | ±5.68, clipped |
| 5, 6 | the velocity command in force (normalized, after rate limiting) | −1 .. 1 |
| 7.. | free-space ring: ``n_rays`` horizontal ray distances [m] from the LIDAR head (0.176 m up), counter-clockwise from straight ahead; ``ray_range_m`` where nothing is hit | 0 .. ``ray_range_m`` |
| 7 + ``n_rays``, +1 | ``guidance=True`` only: cos, sin of the bearing to a point 0.5 m down the planned path to the goal (a global planner's hint from the map: the shortest path on a costmap inflated 0.5 m around obstacles, so it keeps to the middle of doors and corridors) | −1 .. 1 |
| 9 + ``n_rays`` | ``guidance=True`` only: the shortest path's length to the goal [m] | 0 .. a bound on any path |

The ring is a coarse, noise-free summary for small policies; the robot also carries
sensors (``SimEnv`` simulates them when observed, e.g. ``obs=("state", "lidar", "imu")``,
giving a Dict observation; replace them with ``sensors={"lidar": "vlp16"}``):

- ``lidar``: RPLIDAR A1 / LDS class 2D scanner, 360 beams, 0.15–12 m, 10 Hz, with range
  noise and dropouts, on the ``robot_lidar`` site at the LDS head;
- ``imu``: Bosch BMI088 model (specific force and body rates, datasheet noise) on ``robot``.

Furniture is at least 0.4 m tall, so every obstacle crosses the scan plane.

## Rewards
Named terms (``info["reward_terms"]``), summed:
``progress`` = 2·(decrease of the geodesic distance to the goal, m) per step, ≤ 0.05;
``goal`` = +10 on arrival; ``collision`` = −10 on touching a wall or furniture;
``time`` = −0.01 per step; ``clearance`` = −0.05·(1 − tolerance(nearest ray, ≥ 0.35 m,
margin 0.2 m)), a small push away from obstacles.

## Starting State
A floor plan (5–8 m sides) drawn from the env's RNG, then a start pose on a cell at least
0.28 m from any obstacle with a uniform heading, and a goal 1.5–7 m away along the free
path (geodesic); a free path for the robot's footprint is guaranteed. Plans are redrawn every ``episodes_per_plan`` episodes and on every
seeded reset; in between only start and goal change.

## Episode End
Terminated on arrival (within ``goal_radius_m``, ``info["is_success"] = True``) or on a
collision with a wall or furniture (``info["collision"] = True``); truncated after 600
steps (60 s at 10 Hz) by the registered TimeLimit.

## Arguments
``n_rays`` (24; 8..72), ``episodes_per_plan`` (1; >= 1: how many episodes share a plan),
``plan_size_m`` ((5, 8); side range within [3, 20]), ``goal_distance_m`` ((1.5, 7.0);
geodesic, within [0.5, 50]), ``furniture_per_room`` ((0, 3); integers in 0..6),
``goal_radius_m`` (0.2; [0.1, 1.0]), ``ray_range_m`` (3.5, the LDS-01's; [0.5, 12]),
``accel_limits`` (None, or (m/s², rad/s²) each in [1e-3, 1e3]: rate-limits the commands),
``guidance`` (False: the goal's straight-line bearing only; True adds what a map-based global
planner hands a local controller, as in a Nav2 stack: the bearing to a point down the path
planned on the inflated costmap, and the shortest path's length. Without it a memoryless policy meets dead ends behind walls).

## Domain Randomization
``randomize=True`` samples this space at every reset (``NavTask.param_space()``,
where a comment on each line says why its range is what it is); ``info["params"]`` holds the
values drawn. Pass a file or a ``ParamSpace`` to ``randomize=`` to change it.

| parameter | distribution | nominal | unit | meaning |
|---|---|---|---|---|
| `floor.friction` | U(0.4, 1) | 0.8 |  | floor surface friction |
| `wheel.friction` | U(0.7, 1) | 1 |  | wheel tyre friction |
| `robot.mass_kg` | U(0.7, 1.3) | 0.84 | kg | base mass |
| `motor.gain` | U(0.8, 1.2) | 1 |  | wheel velocity servo gain |
| `actuation.latency_s` | U(0, 0.1) | 0 | s | command-to-motor delay |
| `control.jitter_s` | U(0, 0.005) | 0 | s | std of the control period |
| `lidar.range_noise_std_m` | U(0.005, 0.03) | 0.01 | m | 1σ range noise |
| `lidar.dropout_prob` | U(0, 0.05) | 0 |  | missed returns per beam |
| `floor.color_r` | U(0, 1) | 0.8 |  | floor red |
| `floor.color_g` | U(0, 1) | 0.78 |  | floor green |
| `floor.color_b` | U(0, 1) | 0.72 |  | floor blue |
| `floor.texture` | one of `none`, `checker`, `noise`, `gradient` | none |  | floor pattern |
| `light.azimuth_rad` | U(-3.142, 3.142) | -2.55 | rad | key light heading |
| `light.elevation_rad` | U(0.3, 1.4) | 1.22 | rad | key light height |
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
from simsuite.rewards import tolerance
from simsuite.scene import Scene
from simsuite.task import Task
from simsuite.transforms import quat_from_axis_angle, quat_to_mat, yaw_of
from simsuite.worlds.floorplan import (
    FURNITURE,
    WALL,
    BurgerSpec,
    carrot,
    FloorPlan,
    PlanConfig,
    RoadMap,
    generate_plan,
    geodesic_field,
    make_robot,
    plan_scene,
    road_map,
    sample_start_goal,
)

ROBOT = "robot"
SPEC = BurgerSpec()
HARD_CLASSES = frozenset({WALL, FURNITURE})  # touching one of these ends the episode


@dataclass(frozen=True)
class NavConfig:
    timestep_s: float = 0.005  # physics step [s]
    control_dt_s: float = 0.1  # agent step [s] (10 Hz, like /cmd_vel)
    start_clearance_m: float = 0.28  # start and goal cells keep this from obstacles [m]
    contact_tolerance_m: float = 1e-3  # a contact closer than this counts as a touch [m]
    progress_per_m: float = 2.0  # reward per metre of geodesic progress
    goal_bonus: float = 10.0
    collision_penalty: float = -10.0
    time_penalty: float = -0.01  # per step
    clearance_weight: float = -0.05
    safe_range_m: float = 0.35  # ring distance that costs nothing [m]
    carrot_m: float = 0.5  # guidance: how far down the planned path the hint points [m]
    comfort_m: float = 0.5  # guidance: the planner's costmap inflation radius (clearance that costs nothing) [m]


def _integer(name: str, value, lo: int, hi: float) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or not lo <= value <= hi:
        raise ValueError(f"{name} must be an integer in {lo}..{hi}, got {value!r}")
    return int(value)


def _number(name: str, value, lo: float, hi: float, unit: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.number)) or not lo <= value <= hi:
        raise ValueError(f"{name} must be a number in [{lo}, {hi}] {unit}, got {value!r}")
    return float(value)


def _pair(name: str, value, lo: float, hi: float, unit: str, integers: bool = False, ordered: bool = True) -> tuple[float, float]:
    """A pair within [lo, hi] (a range: low <= high), or a ValueError naming the option."""
    kinds = (int, np.integer) if integers else (int, float, np.number)
    ok = isinstance(value, (tuple, list)) and len(value) == 2
    ok = ok and all(isinstance(v, kinds) and not isinstance(v, bool) for v in value)
    if not ok or not (lo <= min(value) and max(value) <= hi and (value[0] <= value[1] or not ordered)):
        what = "integers" if integers else f"numbers [{unit}]"
        rule = f"{lo} <= low <= high <= {hi}" if ordered else f"both in [{lo}, {hi}]"
        raise ValueError(f"{name} must be a pair of {what} with {rule}, got {value!r}")
    return (int(value[0]), int(value[1])) if integers else (float(value[0]), float(value[1]))


class NavTask(Task):
    control_dt_s = NavConfig.control_dt_s

    def __init__(
        self,
        n_rays: int = 24,
        episodes_per_plan: int = 1,
        plan_size_m: tuple[float, float] = (5.0, 8.0),
        goal_distance_m: tuple[float, float] = (1.5, 7.0),
        furniture_per_room: tuple[int, int] = (0, 3),
        goal_radius_m: float = 0.2,
        ray_range_m: float = 3.5,
        accel_limits: tuple[float, float] | None = None,
        guidance: bool = False,
    ):
        self.n_rays = _integer("n_rays", n_rays, 8, 72)
        self.episodes_per_plan = _integer("episodes_per_plan", episodes_per_plan, 1, math.inf)
        self.goal_distance_m = _pair("goal_distance_m", goal_distance_m, 0.5, 50.0, "m")
        self.goal_radius_m = _number("goal_radius_m", goal_radius_m, 0.1, 1.0, "m")
        self.ray_range_m = _number("ray_range_m", ray_range_m, 0.5, 12.0, "m")
        if accel_limits is not None:
            accel_limits = _pair("accel_limits", accel_limits, 1e-3, 1e3, "m/s², rad/s²", ordered=False)
        self.accel_limits = accel_limits
        if not isinstance(guidance, bool):
            raise ValueError(f"guidance must be True or False, got {guidance!r}")
        self.guidance = guidance
        self.ring = slice(7, 7 + self.n_rays)  # observation entries of the free-space ray ring
        self.plan_config = PlanConfig(size_m=_pair("plan_size_m", plan_size_m, 3.0, 20.0, "m"),
                                      furniture_per_room=_pair("furniture_per_room", furniture_per_room, 0, 6, "", integers=True))
        self.config = NavConfig()
        angles = 2 * math.pi * np.arange(n_rays) / n_rays
        self._ray_cos, self._ray_sin = np.cos(angles), np.sin(angles)
        self._ray_dirs = np.zeros((n_rays, 3))
        self._lidar_offset = np.array(SPEC.lidar_offset_m)
        self._robot_bodies = (ROBOT, f"{ROBOT}_wheel_left", f"{ROBOT}_wheel_right")
        self._motors = (f"{ROBOT}_wheel_left_motor", f"{ROBOT}_wheel_right_motor")
        self._rng: np.random.Generator | None = None
        self._episodes_on_plan = 0
        self.episode = 0  # counts resets, so that an expert can tell a new episode
        self.plan: FloorPlan | None = None  # privileged map, for experts and the renderer
        self.roads: RoadMap | None = None
        self.goal_xy: tuple[float, float] = (0.0, 0.0)
        self.geodesic: np.ndarray | None = None  # path length to the goal per grid cell [m]
        self.guide_roads: RoadMap | None = None  # guidance: the road map with inflated costs near obstacles
        self.guide_field: np.ndarray | None = None  # guidance: the planner's cost-to-go per grid cell
        diagonal_m = math.sqrt(2.0) * self.plan_config.size_m[1]
        side_m = self.plan_config.size_m[1]
        path_m = math.sqrt(2.0) * side_m**2 / self.plan_config.cell_m + diagonal_m  # visits each cell once at most [m]
        high = np.r_[diagonal_m, 1.0, 1.0, 2 * SPEC.max_speed_m_s, 2 * SPEC.max_yaw_rate_rad_s, 1.0, 1.0, np.full(n_rays, ray_range_m),
                     (1.0, 1.0, path_m) if guidance else ()]
        high = high.astype(np.float32)
        low = -high
        low[0], low[self.ring] = 0.0, 0.0
        if guidance:
            low[-1] = 0.0
        self._obs_low, self._obs_high = low.astype(np.float64), high.astype(np.float64)
        self._obs_space = gymnasium.spaces.Box(low, high, dtype=np.float32)

    # -- world -----------------------------------------------------------------------
    def rebuild_scene(self, rng: np.random.Generator) -> bool:
        """A new plan every ``episodes_per_plan`` episodes, and whenever the env was reseeded
        (gymnasium makes a new Generator), so that a seed always gives the same world."""
        return rng is not self._rng or self._episodes_on_plan >= self.episodes_per_plan

    def build_scene(self, rng: np.random.Generator) -> Scene:
        self._rng, self._episodes_on_plan = rng, 0
        self.plan = generate_plan(rng, self.plan_config)
        self.roads = road_map(self.plan, self.plan_config.clearance_m)
        if self.guidance:
            self.guide_roads = road_map(self.plan, self.plan_config.clearance_m, self.config.comfort_m)
        robot, actuators = make_robot(SPEC, ROBOT)
        i, j = np.unravel_index(int(np.argmax(self.plan.grid.sdf)), self.plan.grid.sdf.shape)
        robot.pos = (*self.plan.grid.point(int(i), int(j)), 0.0)  # a free spot until reset() places it
        scene = plan_scene(self.plan, robot, actuators, self.config.timestep_s, rng)
        self._class_of = {body.name: body.semantic_class for body, _, _ in scene.walk()}
        return scene

    @property
    def action_space(self) -> gymnasium.spaces.Box:
        return gymnasium.spaces.Box(-1.0, 1.0, (2,), np.float32)

    @property
    def observation_space(self) -> gymnasium.spaces.Box:
        return self._obs_space

    def reset(self, backend: Backend, rng: np.random.Generator) -> None:
        self._episodes_on_plan += 1
        self.episode += 1
        (x, y, yaw), self.goal_xy, self.geodesic = sample_start_goal(
            self.plan, self.roads, rng, self.goal_distance_m, self.config.start_clearance_m)
        self._plan_guidance()
        backend.set_body_pose(ROBOT, (x, y, 0.0), quat_from_axis_angle((0.0, 0.0, 1.0), yaw))
        self._command = np.zeros(2)  # normalized (v, ω) in force
        self._measured_at = None
        self._measure(backend)
        self._potential_prev = self._potential

    # -- action ------------------------------------------------------------------------
    def apply_action(self, backend: Backend, action: np.ndarray) -> None:
        command = np.asarray(action, dtype=np.float64)
        if self.accel_limits is not None:
            step = np.array(self.accel_limits) * self.control_dt_s / (SPEC.max_speed_m_s, SPEC.max_yaw_rate_rad_s)
            command = np.clip(command, self._command - step, self._command + step)
        self._command = command
        left, right = self.wheel_speeds(command[0] * SPEC.max_speed_m_s, command[1] * SPEC.max_yaw_rate_rad_s)
        backend.set_controls({self._motors[0]: left, self._motors[1]: right})

    @staticmethod
    def wheel_speeds(v_m_s: float, w_rad_s: float) -> tuple[float, float]:
        """(left, right) wheel speeds [rad/s] for a body twist, scaled down together to the
        wheel speed limit so that the curve radius is kept."""
        half = SPEC.wheel_separation_m / 2
        left, right = (v_m_s - w_rad_s * half) / SPEC.wheel_radius_m, (v_m_s + w_rad_s * half) / SPEC.wheel_radius_m
        scale = min(1.0, SPEC.max_wheel_speed_rad_s / max(abs(left), abs(right), 1e-12))
        return left * scale, right * scale

    # -- state kept outside the engine (calibration resets to recorded states) --------------
    def get_state(self) -> np.ndarray:
        """The command in force (normalized v, ω), the goal (x, y) [m] and the progress
        potential of the last step [m]; the plan itself comes from the episode's seed."""
        return np.array([*self._command, *self.goal_xy, self._potential_prev])

    def set_state(self, backend: Backend, state: np.ndarray) -> None:
        s = np.asarray(state, dtype=np.float64)
        if s.shape != (5,):
            raise ValueError(f"Nav task state must have 5 entries (command 2, goal 2, potential 1), got shape {s.shape}")
        self._command = s[0:2].copy()
        goal = (float(s[2]), float(s[3]))
        if goal != tuple(self.goal_xy):  # another goal in the same plan: its geodesic field too
            self.goal_xy, self.geodesic = goal, geodesic_field(self.plan, self.roads, goal)
            self._plan_guidance()
        self._potential_prev = float(s[4])
        self._measured_at = None

    def _plan_guidance(self) -> None:
        """The global planner's cost-to-go for this goal, on the inflated costmap."""
        if self.guidance:
            self.guide_field = geodesic_field(self.plan, self.guide_roads, self.goal_xy)

    # -- measurements, once per step ------------------------------------------------------
    def _measure(self, backend: Backend) -> None:
        """Pose, velocity, ray ring, contacts and goal geometry, cached for this sim time."""
        now = backend.time_s
        if now == self._measured_at:
            return
        self._measured_at = now
        pos, quat = backend.body_pose(ROBOT)
        lin, ang = backend.body_velocity(ROBOT, "body")
        yaw = yaw_of(quat)
        c, s = math.cos(yaw), math.sin(yaw)
        self._ray_dirs[:, 0] = c * self._ray_cos - s * self._ray_sin
        self._ray_dirs[:, 1] = s * self._ray_cos + c * self._ray_sin
        origin = pos + quat_to_mat(quat) @ self._lidar_offset
        ranges = backend.cast_rays(origin, self._ray_dirs, self.ray_range_m).distance_m
        self._ranges = np.minimum(ranges, self.ray_range_m)
        dx, dy = self.goal_xy[0] - pos[0], self.goal_xy[1] - pos[1]
        self._goal = (math.hypot(dx, dy), c * dx + s * dy, -s * dx + c * dy)  # distance, robot-frame x, y
        self._speed = (lin[0], ang[2])
        self._potential = self._geodesic_at(pos[0], pos[1])
        if self.guidance:
            (cx, cy), _ = carrot(self.plan, self.guide_field, pos[0], pos[1], self.config.carrot_m)
            dx, dy = cx - pos[0], cy - pos[1]
            norm = math.hypot(dx, dy)
            ux, uy = (dx / norm, dy / norm) if norm > 1e-9 else (self._goal[1], self._goal[2])
            self._guide = (c * ux + s * uy, -s * ux + c * uy, self._potential)  # robot-frame bearing, path length
        tol, classes = self.config.contact_tolerance_m, self._class_of
        self._collided = any(
            classes.get(contact.other) in HARD_CLASSES and contact.distance_m < tol
            for body in self._robot_bodies
            for contact in backend.contacts(body)
        )

    def _geodesic_at(self, x: float, y: float) -> float:
        """Bilinear interpolation of the goal's geodesic field [m] at a world point."""
        grid, field = self.plan.grid, self.geodesic
        fx = min(max((x - grid.origin[0]) / grid.cell_m - 0.5, 0.0), field.shape[1] - 1.001)
        fy = min(max((y - grid.origin[1]) / grid.cell_m - 0.5, 0.0), field.shape[0] - 1.001)
        j, i = int(fx), int(fy)
        tx, ty = fx - j, fy - i
        top = field[i + 1, j] * (1 - tx) + field[i + 1, j + 1] * tx
        bottom = field[i, j] * (1 - tx) + field[i, j + 1] * tx
        return float(bottom * (1 - ty) + top * ty)

    # -- observation, reward, episode end ----------------------------------------------
    def observe(self, backend: Backend) -> np.ndarray:
        self._measure(backend)
        distance, gx, gy = self._goal
        bearing = (gx / distance, gy / distance) if distance > 1e-9 else (1.0, 0.0)
        obs = np.concatenate([(distance, *bearing, *self._speed, *self._command), self._ranges, self._guide if self.guidance else ()])
        return np.clip(obs, self._obs_low, self._obs_high).astype(np.float32)

    def reward_terms(self, backend: Backend, action: np.ndarray) -> dict[str, float]:
        self._measure(backend)
        cfg = self.config
        progress, self._potential_prev = self._potential_prev - self._potential, self._potential
        nearest = float(self._ranges.min())
        return {
            "progress": cfg.progress_per_m * progress,
            "goal": cfg.goal_bonus if self._arrived else 0.0,
            "collision": cfg.collision_penalty if self._collided else 0.0,
            "time": cfg.time_penalty,
            "clearance": cfg.clearance_weight * (1.0 - tolerance(nearest, (cfg.safe_range_m, math.inf), margin=0.2)),
        }

    @property
    def _arrived(self) -> bool:
        return self._goal[0] < self.goal_radius_m

    def is_terminated(self, backend: Backend) -> bool:
        self._measure(backend)
        return self._arrived or self._collided

    def is_success(self, backend: Backend) -> bool:
        self._measure(backend)
        return self._arrived and not self._collided

    def param_space(self) -> ParamSpace:
        """Nav-v0's default randomization (``randomize=True``)."""
        return ParamSpace([
            # Floor friction: U(0.4, 1.0): tiles to carpet
            Param("floor.friction", 0.8, 0.4, 1.0, doc="floor surface friction"),
            # Wheel friction: U(0.7, 1.0): tyre wear and dust
            Param("wheel.friction", 1.0, 0.7, 1.0, targets=("robot_wheel_*.friction",), doc="wheel tyre friction"),
            # Robot mass: U(0.7, 1.3) kg: payloads on a 0.84 kg base
            Param("robot.mass_kg", 0.84, 0.7, 1.3, unit="kg", doc="base mass"),
            # Wheel motor gain: U(0.8, 1.2): motor and driver variation
            Param("motor.gain", 1.0, 0.8, 1.2, targets=("robot_wheel_*_motor.gain",), doc="wheel velocity servo gain"),
            # Actuation latency: U(0, 0.1) s: ROS and serial link delays
            Param("actuation.latency_s", 0.0, 0.0, 0.1, unit="s", doc="command-to-motor delay"),
            # Control-rate jitter: U(0, 5) ms: a non-real-time control loop
            Param("control.jitter_s", 0.0, 0.0, 0.005, unit="s", doc="std of the control period"),
            # LIDAR range noise: U(0.005, 0.03) m: RPLIDAR A1 class (used when the lidar is observed)
            Param("lidar.range_noise_std_m", 0.01, 0.005, 0.03, unit="m", doc="1σ range noise"),
            # LIDAR dropout: U(0, 0.05) per beam: dark and glossy surfaces
            Param("lidar.dropout_prob", 0.0, 0.0, 0.05, doc="missed returns per beam"),
            # Visual (camera observations): floor look, key light, camera jitter, distractors
            *visual_params("floor", (0.8, 0.78, 0.72), -2.55, 1.22),
        ])

    def default_sensors(self) -> dict[str, dict]:
        return {"lidar": {"preset": "rplidar_a1", "site": f"{ROBOT}_lidar"}, "imu": {"preset": "bmi088", "body": ROBOT}}

    def extra_info(self, backend: Backend) -> dict[str, bool]:
        return {"collision": self._collided}
