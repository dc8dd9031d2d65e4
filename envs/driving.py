"""SimSuite/Drive-v0: drive a full-size Ackermann car along a procedural two-lane road,
keeping to the right lane, passing blocked stretches on the left, to the finish line.

The car (``worlds/roads.py``) is a 1,500 kg compact with real wheel physics: a free
chassis, front steering hinges under position servos, four spinning wheels with
torque motors. Roads are drawn from the env's RNG: curves, S-bend chicanes, crossing
roads, obstacles and broken-down cars in the ego lane, parked cars on the shoulders,
and (option) oncoming traffic in the left lane.

## Action Space
``Box(-1, 1, (2,), float32)``: ``[steering, throttle_brake]``.
- ``steering``: target angle of the equivalent bicycle's front wheel as a fraction of
  0.55 rad (+ turns left). The rack follows at most 0.6 rad/s; each front wheel is
  servoed to its own Ackermann angle.
- ``throttle_brake`` > 0: drive torque on the rear wheels, a fraction of 820 N·m each,
  limited by 90 kW and fading to zero at 30 m/s; < 0: brake torque on all wheels, a
  fraction of 3,050 N·m in total (60 % front: 6.6 m/s², within the tyres' grip on dry asphalt),
  acting as dry friction at the wheels: a wheel locks where it beats the tyre's grip (a wet
  road) and is never turned backwards.
  The pedal moves at most 5 /s (full scale in 0.2 s, as brake pressure builds). There is no reverse gear.

## Observation Space
``Box((29,), float32)``, SI units, each entry clipped to its bound:

| index | meaning | bound |
|---|---|---|
| 0 | lateral offset from the ego lane centre [m], + left | ±8 |
| 1 | heading error to the lane direction [rad] | ±π |
| 2–4 | lane curvature 10, 25, 50 m ahead [1/m], + left | ±0.1 |
| 5, 6 | forward and leftward speed [m/s] | [−10, 40], ±10 |
| 7 | yaw rate [rad/s] | ±3 |
| 8 | steering angle (bicycle) [rad] | ±0.55 |
| 9 | throttle (+) / brake (−) applied, after its rate limit | ±1 |
| 10, 11 | last action | ±1 |
| 12 | fraction of the route driven | [0, 1] |
| 13–28 | obstacle clearance ring [m]: 16 horizontal rays at 0.65 m height, every 22.5° from straight ahead counter-clockwise, each from the car's outline; 30 = nothing within 30 m; refreshed at 10 Hz (every other step) | [0, 30] |

Velocities are averages over the last control step (pose differences, as Gymnasium's
MuJoCo tasks compute them). The ring is a cheap, noise-free summary for small policies.

The car also carries sensors, simulated when observed (``obs=("state", "lidar", "imu")``
gives a Dict observation) and replaceable by name (``sensors={"lidar": "hdl64"}``):

- ``lidar``: Velodyne VLP-16 class, 16 channels over ±15°, 10 Hz, up to 100 m, with range
  noise and dropouts, on the roof (1.25 m above the wheel centres);
- ``imu``: Bosch BMI088 model (specific force and body rates, datasheet noise) on ``ego``.

## Rewards
Named terms, weighted by ``DriveConfig``, summed: ``progress`` = Δs / (v_target·dt),
clipped to [−1, 2] (1 per step at target speed along the route); ``lane_keeping`` =
0.3·tolerance(distance to the nearest lane centre, 0.3 m, margin 1.5 m), halved in the
oncoming lane; ``speed`` = 0.3·tolerance(forward speed, [v_target − 1, v_target + 0.5],
margin v_target); ``collision`` = −50 on contact with anything but the ground (or a
rollover); ``off_road`` = −50 when the car centre is 0.3 m beyond a road edge.

## Starting State
At the start line with lateral offset ~U(−0.5, 0.5) m, heading error ~U(−0.1, 0.1) rad and
speed ~U(0, 6) m/s (wheels spinning to match), steering straight.

## Episode End
Terminated on collision, rollover, leaving the road, or crossing the finish line;
truncated at 1000 steps (50 s) by the registered TimeLimit. ``info["is_success"]`` is True
when the finish is crossed within 1 m of a lane centre (no collision: that ends earlier).

## Arguments
``route_length_m`` (300, in [100, 1000]; the registered 1000 steps suit routes up to about
400 m at the default speed: pass ``max_episode_steps`` for longer), ``target_speed_m_s`` (12, in [3, 25]),
``obstacles`` (True: 1–2 blocked stretches of the ego lane), ``parked_cars`` (True),
``intersections`` (True), ``traffic`` (0: oncoming cars in the left lane, 0–10),
``episodes_per_world`` (4: unseeded resets reuse a compiled road this many episodes;
a seeded reset always draws a new one, so seeds replay exactly).

## Domain Randomization
``randomize=True`` samples this space at every reset (``DriveTask.param_space()``,
where a comment on each line says why its range is what it is); ``info["params"]`` holds the
values drawn. Pass a file or a ``ParamSpace`` to ``randomize=`` to change it.

| parameter | distribution | nominal | unit | meaning |
|---|---|---|---|---|
| `tyre.friction` | U(0.6, 1.1) | 1 |  | tyre-road friction of the ego car |
| `ground.friction` | U(0.7, 1) | 0.9 |  | road surface friction |
| `ego.mass_kg` | U(1200, 1800) | 1410 | kg | chassis mass |
| `steering.gain` | U(0.85, 1.15) | 1 |  | road-wheel angle per commanded angle |
| `motor.gain` | U(0.8, 1.2) | 1 |  | drive torque scale |
| `actuation.latency_s` | U(0, 0.1) | 0 | s | command-to-actuator delay |
| `actuation.noise_std` | U(0, 0.03) | 0 |  | fraction of half the action range |
| `lidar.range_noise_std_m` | U(0, 0.05) | 0.02 | m | 1σ range noise |

## Version History
- v0: first version.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import gymnasium
import numpy as np

from simsuite.backends.base import Backend
from simsuite.randomization import Param, ParamSpace
from simsuite.rewards import tolerance
from simsuite.scene import Scene
from simsuite.task import Task
from simsuite.transforms import quat_from_axis_angle
from simsuite.worlds.roads import SAMPLE_M, TRAFFIC_MASS_KG, CarSpec, RoadSpec, RoadWorld, build_car, car_controls, car_names
from simsuite.worlds.roads import footprints_overlap, generate_road, outline_ring, rays_near_circles, road_scene, traffic_car
from simsuite.worlds.roads import traffic_footprints, traffic_plan, traffic_state

OBS_HIGH = np.array([8, math.pi, 0.1, 0.1, 0.1, 40, 10, 3, 0.55, 1, 1, 1, 1] + [30] * 16, np.float32)
OBS_LOW = -OBS_HIGH.copy()
OBS_LOW[5], OBS_LOW[12], OBS_LOW[13:] = -10.0, 0.0, 0.0


@dataclass(frozen=True)
class DriveConfig:
    """Task constants; copied, never mutated."""

    timestep_s: float = 0.025  # physics step [s]: stable on both engines for this car
    max_steer_rate_rad_s: float = 0.6  # rack rate at the road wheels (540°/s at the wheel, ratio 16)
    max_pedal_rate_1_s: float = 5.0  # throttle/brake build-up: full scale in 0.2 s, as brake pressure
    preview_m: tuple[float, ...] = (10.0, 25.0, 50.0)  # curvature look-ahead distances [m]
    ray_range_m: float = 30.0
    ray_height_m: float = 0.65  # above ground: over the wheels, under every obstacle's top
    ring_rate_hz: float = 10.0  # clearance ring refresh rate (a LIDAR's): every other control step
    off_road_m: float = 0.3  # car centre beyond the road edge [m]
    in_lane_m: float = 1.0  # finish within this distance of a lane centre [m]
    start_speed_m_s: tuple[float, float] = (0.0, 6.0)
    w_progress: float = 1.0
    w_lane: float = 0.3
    w_speed: float = 0.3
    w_collision: float = 50.0
    w_off_road: float = 50.0


class DriveTask(Task):
    control_dt_s = 0.05  # 20 Hz, two physics steps

    def __init__(self, route_length_m: float = 300.0, target_speed_m_s: float = 12.0, obstacles: bool = True,
                 parked_cars: bool = True, intersections: bool = True, traffic: int = 0, episodes_per_world: int = 4):
        _check_range("route_length_m", route_length_m, 100.0, 1000.0)
        _check_range("target_speed_m_s", target_speed_m_s, 3.0, 25.0)
        for name, flag in (("obstacles", obstacles), ("parked_cars", parked_cars), ("intersections", intersections)):
            if not isinstance(flag, (bool, np.bool_)):
                raise ValueError(f"{name} must be True or False, got {flag!r}")
        _check_int("traffic", traffic, 0, 10)
        _check_int("episodes_per_world", episodes_per_world, 1, 10_000)
        self.config, self.car = DriveConfig(), CarSpec()
        self.target_speed_m_s, self.traffic, self.episodes_per_world = float(target_speed_m_s), int(traffic), int(episodes_per_world)
        self.road_spec = RoadSpec(
            route_length_m=float(route_length_m),
            blocked=(1, 2) if obstacles else (0, 0),
            parked=(2, 8) if parked_cars else (0, 0),
            intersections=(0, 2) if intersections else (0, 0),
        )
        self.names = car_names()
        self._ego_bodies = (self.names["chassis"], *self.names["wheel_bodies"])  # the bodies with colliding geoms
        self._ring_dirs, self._ring_start = outline_ring(self.car, 16)
        self._ring_every = max(1, round(1.0 / (self.config.ring_rate_hz * self.control_dt_s)))
        self._preview_m = np.asarray(self.config.preview_m)
        self._ring_empty = np.full(16, self.config.ray_range_m)
        # footprint for the contact pre-test: the hull, widened by the wheel spheres, plus 10 cm
        self._ego_half = (self.car.half_length_m + 0.1, self.car.track_m / 2 + self.car.wheel_radius_m + 0.1)
        self.world: RoadWorld | None = None

    # -- world -------------------------------------------------------------------
    def build_scene(self, rng: np.random.Generator) -> Scene:
        """A new road and the car at its start line (the pose is redrawn at every reset)."""
        self.world = generate_road(rng, self.road_spec)
        self.route = self.world.route
        scene = road_scene(self.world, self.config.timestep_s, name="drive")
        x, y, th = self.route.point(self.route.start_s_m)
        car, actuators = build_car(self.car, (x, y, self.car.wheel_radius_m), th)
        scene.add(car)
        scene.actuators.extend(actuators)
        self.traffic_plan = traffic_plan(rng, self.traffic, self.route)
        for name, _, _ in self.traffic_plan:
            scene.add(traffic_car(name))
        self._world_rng, self._episodes_on_world = rng, 0
        self._boxes = self.world.footprints()
        return scene

    def rebuild_scene(self, rng: np.random.Generator) -> bool:
        """A seeded reset (a new Generator) always gets a new road, so that seeds replay
        exactly; unseeded resets reuse the compiled one ``episodes_per_world`` times."""
        return rng is not self._world_rng or self._episodes_on_world >= self.episodes_per_world

    # -- spaces --------------------------------------------------------------------
    @property
    def action_space(self) -> gymnasium.spaces.Box:
        return gymnasium.spaces.Box(-1.0, 1.0, (2,), np.float32)

    @property
    def observation_space(self) -> gymnasium.spaces.Box:
        return gymnasium.spaces.Box(OBS_LOW, OBS_HIGH, dtype=np.float32)

    # -- episode ---------------------------------------------------------------------
    def reset(self, backend: Backend, rng: np.random.Generator) -> None:
        """Place the car near the start line, already rolling, and the traffic at t = 0."""
        self._episodes_on_world += 1
        route, car = self.route, self.car
        offset, dyaw = rng.uniform(-0.5, 0.5), rng.uniform(-0.1, 0.1)
        speed = rng.uniform(*self.config.start_speed_m_s)
        x, y, th = route.point(route.start_s_m, offset)
        yaw = th + dyaw
        backend.set_body_pose(self.names["chassis"], (x, y, car.wheel_radius_m + 0.002), quat_from_axis_angle((0, 0, 1), yaw))
        backend.set_body_velocity(self.names["chassis"], (speed * math.cos(yaw), speed * math.sin(yaw), 0.0))
        for joint in self.names["wheel_joints"]:
            backend.set_joint_position(joint, 0.0, speed / car.wheel_radius_m)
        self._move_traffic(backend, 0.0)
        self.steer_rad, self.pedal, self.last_action = 0.0, 0.0, np.zeros(2)
        self._hint = int(route.start_s_m / SAMPLE_M)
        # pose one control step ago, as if the car had been rolling straight at ``speed``
        self._prev = (x - speed * math.cos(yaw) * self.control_dt_s, y - speed * math.sin(yaw) * self.control_dt_s, yaw)
        self._prev_s = route.start_s_m - speed * math.cos(dyaw) * self.control_dt_s
        self._collided = False
        self._snap_time, self._steps_since_ring = None, 0

    def apply_action(self, backend: Backend, action: np.ndarray) -> None:
        """Steering and pedal follow the action at their rate limits; the car model turns
        them into Ackermann servo targets and wheel torques."""
        dt, cfg = self.control_dt_s, self.config
        self.steer_rad = _toward(self.steer_rad, float(action[0]) * self.car.max_steer_rad, cfg.max_steer_rate_rad_s * dt)
        self.pedal = _toward(self.pedal, float(action[1]), cfg.max_pedal_rate_1_s * dt)
        steer = self.steer_rad * self.steering_gain  # the real car's steering ratio may differ from the model's
        backend.set_controls(car_controls(self.car, self.names, steer, self.pedal, self._snap["v"]))
        self.last_action = action
        if self.traffic_plan:
            self._move_traffic(backend, backend.time_s)  # the set velocity carries them through the step

    def observe(self, backend: Backend) -> np.ndarray:
        snap = self._refresh(backend)
        obs = np.empty(29, np.float32)
        obs[0], obs[1] = snap["lateral"], snap["heading_error"]
        obs[2:5] = self.route.curvature_at(snap["s"] + self._preview_m)
        obs[5], obs[6], obs[7] = snap["v"], snap["v_lat"], snap["yaw_rate"]
        obs[8], obs[9], obs[10:12] = self.steer_rad, self.pedal, self.last_action
        obs[12] = (snap["s"] - self.route.start_s_m) / (self.route.goal_s_m - self.route.start_s_m)
        obs[13:] = snap["rays"]
        return np.clip(obs, OBS_LOW, OBS_HIGH, out=obs)

    def reward_terms(self, backend: Backend, action: np.ndarray) -> dict[str, float]:
        snap, cfg, v_ref = self._refresh(backend), self.config, self.target_speed_m_s
        lane_gap = snap["lane_distance"]
        in_ego_lane = snap["lateral"] < self.route.lane_width_m / 2
        return {
            "progress": cfg.w_progress * min(max(snap["ds"] / (v_ref * self.control_dt_s), -1.0), 2.0),
            "lane_keeping": cfg.w_lane * tolerance(lane_gap, (0.0, 0.3), 1.5) * (1.0 if in_ego_lane else 0.5),
            "speed": cfg.w_speed * tolerance(snap["v"], (v_ref - 1.0, v_ref + 0.5), v_ref),
            "collision": -cfg.w_collision if snap["collision"] else 0.0,
            "off_road": -cfg.w_off_road if snap["off_road"] else 0.0,
        }

    def is_terminated(self, backend: Backend) -> bool:
        snap = self._refresh(backend)
        return snap["collision"] or snap["off_road"] or snap["finished"]

    def is_success(self, backend: Backend) -> bool:
        snap = self._refresh(backend)
        return bool(snap["finished"] and not self._collided and snap["lane_distance"] <= self.config.in_lane_m)

    # -- full state (with the engine's): rate-limited inputs and progress bookkeeping ------
    def get_state(self) -> np.ndarray:
        """Inputs, and the bookkeeping as it was before the latest snapshot, so that restoring
        recomputes that snapshot exactly (the LIDAR ring included)."""
        hint, prev, prev_s, collided, ring, rays = self._before_snap
        return np.array([self.steer_rad, self.pedal, *self.last_action, hint, *prev, prev_s, float(collided), ring, *rays])

    def set_state(self, backend: Backend, state: np.ndarray) -> None:
        s = np.asarray(state, dtype=np.float64)
        self.steer_rad, self.pedal, self.last_action = float(s[0]), float(s[1]), s[2:4].copy()
        self._hint, self._prev, self._prev_s = int(s[4]), tuple(s[5:8].tolist()), float(s[8])
        self._collided, self._steps_since_ring = bool(s[9]), int(s[10])
        self._snap = {**self._snap, "rays": s[11:].copy()}
        self._snap_time = None
        self._refresh(backend)

    #: road-wheel angle / commanded angle: a steering ratio or servo calibration error
    steering_gain: float = 1.0

    def param_names(self) -> list[str]:
        return ["steering.gain"]

    def get_param(self, name: str) -> float:
        return self.steering_gain if name == "steering.gain" else super().get_param(name)

    def set_param(self, name: str, value: float) -> None:
        if name != "steering.gain":
            return super().set_param(name, value)
        if not (math.isfinite(value) and value > 0):
            raise ValueError(f"steering.gain must be finite and > 0, got {value}")
        self.steering_gain = float(value)

    def param_space(self) -> ParamSpace:
        """Drive-v0's default randomization (``randomize=True``)."""
        return ParamSpace([
            # Tyre friction: U(0.6, 1.1): worn to new tyres on dry asphalt (all four wheels)
            Param("tyre.friction", 1.0, 0.6, 1.1, targets=("ego_wheel_*.friction",), doc="tyre-road friction of the ego car"),
            # Ground friction: U(0.7, 1.0): road surface (the contact uses the product of both)
            Param("ground.friction", 0.9, 0.7, 1.0, doc="road surface friction"),
            # Vehicle mass: U(1200, 1800) kg: passengers and load on a 1410 kg car
            Param("ego.mass_kg", 1410.0, 1200.0, 1800.0, unit="kg", doc="chassis mass"),
            # Steering gain: U(0.85, 1.15): steering ratio and servo calibration
            Param("steering.gain", 1.0, 0.85, 1.15, doc="road-wheel angle per commanded angle"),
            # Drive motor strength: U(0.8, 1.2)× the torque per pedal
            Param("motor.gain", 1.0, 0.8, 1.2, targets=("ego_motor_*.gain",), doc="drive torque scale"),
            # Actuation latency: U(0, 0.1) s: drive-by-wire bus and actuator response
            Param("actuation.latency_s", 0.0, 0.0, 0.1, unit="s", doc="command-to-actuator delay"),
            # Action noise: U(0, 0.03) of the range: pedal and servo jitter
            Param("actuation.noise_std", 0.0, 0.0, 0.03, doc="fraction of half the action range"),
            # LIDAR range noise: U(0, 0.05) m (used when the lidar is observed)
            Param("lidar.range_noise_std_m", 0.02, 0.0, 0.05, unit="m", doc="1σ range noise"),
        ])

    def default_sensors(self) -> dict[str, dict]:
        chassis = self.names["chassis"]
        return {"lidar": {"preset": "vlp16", "body": chassis, "pos": (-0.25, 0.0, 1.25)}, "imu": {"preset": "bmi088", "body": chassis}}

    def extra_info(self, backend: Backend) -> dict[str, float]:
        snap = self._refresh(backend)
        return {"progress_m": snap["s"] - self.route.start_s_m, "lateral_offset_m": snap["lateral"], "speed_m_s": snap["v"]}

    # -- state ---------------------------------------------------------------------------
    @property
    def last_state(self) -> dict:
        """The latest per-step snapshot (station, offsets, speeds, flags): the expert reads it."""
        return self._snap

    @property
    def last_time_s(self) -> float:
        return self._snap_time

    def _refresh(self, backend: Backend) -> dict:
        """Everything observation, reward and episode end need, computed once per step."""
        t = backend.time_s
        if t == self._snap_time:
            return self._snap
        route, cfg, dt = self.route, self.config, self.control_dt_s
        old = getattr(self, "_snap", None)
        rays = np.asarray(old["rays"], dtype=np.float64) if old is not None else np.zeros(len(self._ring_dirs))
        self._before_snap = (self._hint, self._prev, self._prev_s, self._collided, self._steps_since_ring, rays)
        pos, quat = backend.body_pose(self.names["chassis"])
        w, qx, qy, qz = (float(q) for q in quat)
        yaw = math.atan2(2 * (w * qz + qx * qy), 1 - 2 * (qy * qy + qz * qz))
        x, y = float(pos[0]), float(pos[1])
        c, s = math.cos(yaw), math.sin(yaw)
        px, py, pyaw = self._prev
        dx, dy = x - px, y - py
        self._hint, s_m, lateral, lane_heading = route.project(x, y, self._hint)
        lateral = float(lateral)
        half = route.lane_width_m / 2
        upright = 1 - 2 * (qx * qx + qy * qy)  # world z of the car's z axis
        boxes = self._boxes_at(t)
        collision = upright < 0.5 or self._touches_anything(backend, boxes, x, y, c, s)
        self._collided = self._collided or collision
        snap = {
            "s": s_m,
            "ds": s_m - self._prev_s,
            "lateral": lateral,
            "heading_error": math.remainder(yaw - lane_heading, 2 * math.pi),
            "v": (c * dx + s * dy) / dt,
            "v_lat": (-s * dx + c * dy) / dt,
            "yaw_rate": math.remainder(yaw - pyaw, 2 * math.pi) / dt,
            "lane_distance": min(abs(lateral), abs(lateral - 2 * half)),
            "off_road": bool(abs(lateral - half) > 2 * half + cfg.off_road_m),
            "finished": bool(s_m >= route.goal_s_m),
            "collision": collision,
            "rays": self._ring(backend, boxes, x, y, float(pos[2]) - self.car.wheel_radius_m, c, s) if self._ring_due() else self._snap["rays"],
            "pose": (x, y, yaw),
        }
        self._prev, self._prev_s = (x, y, yaw), s_m
        self._snap, self._snap_time = snap, t
        return snap

    def _boxes_at(self, t_s: float) -> np.ndarray:
        """Footprints of everything the car can hit: the static boxes and the oncoming cars
        where their schedule puts them at ``t_s``."""
        if not self.traffic_plan:
            return self._boxes
        return np.concatenate([self._boxes, traffic_footprints(self.route, self.traffic_plan, t_s)])

    def _touches_anything(self, backend: Backend, boxes: np.ndarray, x: float, y: float, c: float, s: float) -> bool:
        """Contact between any ego body and any body but the ground. The five contact
        queries run only when a box overlaps the car's footprint grown by 10 cm: a cheap
        2D test that is almost always False."""
        if not footprints_overlap(boxes, x, y, c, s, self._ego_half):
            return False
        return any(c.other != "ground" for body in self._ego_bodies for c in backend.contacts(body))

    def _ring_due(self) -> bool:
        """The ring refreshes at ``ring_rate_hz`` (a LIDAR's rate), every other control step."""
        due = self._steps_since_ring == 0
        self._steps_since_ring = (self._steps_since_ring + 1) % self._ring_every
        return due

    def _ring(self, backend: Backend, boxes: np.ndarray, x: float, y: float, ground_z: float, c: float, s: float) -> np.ndarray:
        """Clearance from the car's outline along 16 horizontal bearings. Rays can hit only
        the boxes (the ground lies below them, the road is visual only), so only rays that
        pass through some box's bounding circle are cast: the rest are known misses."""
        rot = np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])
        dirs = self._ring_dirs @ rot.T
        origins = self._ring_start @ rot.T + (x, y, ground_z + self.config.ray_height_m)
        aim = rays_near_circles(origins[:, :2], dirs[:, :2], boxes[:, :2], np.hypot(boxes[:, 4], boxes[:, 5]), self.config.ray_range_m)
        ring = self._ring_empty.copy()
        if aim.any():
            hits = backend.cast_rays(origins[aim], dirs[aim], self.config.ray_range_m)
            ring[aim] = np.minimum(hits.distance_m, self.config.ray_range_m)
        return ring

    def _move_traffic(self, backend: Backend, t_s: float) -> None:
        """Oncoming cars are kinematic: posed on their schedule, given its velocity for the
        coming step, and held up against gravity."""
        for name, s0, speed in self.traffic_plan:
            pos, quat, vel = traffic_state(self.route, s0, speed, t_s)
            backend.set_body_pose(name, pos, quat)
            backend.set_body_velocity(name, vel)
            backend.apply_force(name, (0.0, 0.0, TRAFFIC_MASS_KG * 9.81))


def _toward(value: float, target: float, max_step: float) -> float:
    """``value`` moved toward ``target`` by at most ``max_step`` (a rate limit)."""
    return value + min(max(target - value, -max_step), max_step)


def _check_range(name: str, value: float, lo: float, hi: float) -> None:
    if not isinstance(value, (int, float)) or not lo <= value <= hi:
        raise ValueError(f"{name} must be a number in [{lo}, {hi}], got {value!r}")


def _check_int(name: str, value: int, lo: int, hi: int) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or not lo <= value <= hi:
        raise ValueError(f"{name} must be an integer in [{lo}, {hi}], got {value!r}")
