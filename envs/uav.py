"""SimSuite/UAV-v0: a Crazyflie 2.x-class quadrotor hovers, visits waypoints or races gates.

The quadrotor is one free rigid body (constants in :class:`~simsuite.worlds.quadrotor.QuadrotorParams`).
The task, not the engine, models the motors: each motor speed follows its command with a
first-order lag (τ = 0.072 s); over a control step each rotor gives the exact mean of kf·ω²
(thrust, at its rotor site) and ±km·ω² (drag torque). The four forces at the sites, their torques,
rotor drag (linear in the air-relative velocity) and wind are summed into one wrench about the
centre of mass and applied with one ``backend.apply_force`` call (the same motion as four calls
at the sites, at a tenth of the cost). Both engines integrate the same forces on the same body.

## Action Space
``Box(-1, 1, (4,))``. ``action="motors"`` (default): motor speed commands, −1 → 0 rpm,
+1 → ``motor.max_rpm`` (≈ 21,714 rpm; hover ≈ 0.33); rotors 0 front-right, 1 back-right,
2 back-left, 3 front-left. ``action="ctbr"``: collective thrust (−1 → 0 N, +1 → 4× max motor
thrust ≈ 0.60 N; hover ≈ −0.11) and body rates roll, pitch, yaw (±1 → ±``MAX_RATES_RAD_S``),
tracked by the rate loop in :class:`~simsuite.worlds.quadrotor.RateController`.

## Observation Space
``Box(float32, (22,))``, 25 for ``mission="gates"``. Everything a flight controller needs
and nothing it could not estimate on board:

| index | meaning | bound |
|---|---|---|
| 0–2 | target − position, world axes [m] | ±10 (clipped; the arena is 10 m wide) |
| 3–11 | rotation matrix body→world, row-major (continuous, no quaternion sign flip) | ±1 |
| 12–14 | linear velocity, world axes [m/s] | ±30 (clipped) |
| 15–17 | body angular rates [rad/s] | ±35 (clipped like a ±2000 °/s gyro) |
| 18–21 | last action (the motors lag behind it: it stands in for motor state) | ±1 |
| 22–24 | gates only: the current gate's unit normal (the direction to fly through it) | ±1 |

The quadrotor also carries an ``imu`` (Bosch BMI088 model, as on the Crazyflie 2.x:
specific force and body rates with datasheet noise), simulated when observed:
``obs=("state", "imu")`` gives a Dict observation.

## Rewards
``target`` = tolerance(distance to target, 0–radius, margin 1 m) ∈ [0, 1];
``reached`` = +10 per waypoint or gate reached; ``rates`` ∈ [−0.1, 0] penalizes spinning;
``crash`` = −10 on a crash. The reward is their sum.

## Starting State
Hover: target U(±1, ±1, 0.8–1.5) m, start within 1 m of it. Waypoints: start near the origin,
targets 1–2 m apart. Gates: start on the course's first leg. Attitude roll, pitch U(±0.15) rad,
yaw U(±π); velocity U(±0.2) m/s, rates U(±0.3) rad/s; motors at hover speed.

## Episode End
Terminated on a crash (contact with the floor, a gate or a pillar; tilt over ``max_tilt_rad``;
leaving the arena: |x|, |y| > 5 m or z > 3 m) with ``info["crash"]`` naming it ("ground", "gate",
"obstacle", "tilt", "out_of_bounds"; "" while flying), or when the last waypoint or gate is reached
(``info["targets_reached"]`` counts them). Truncated after 500 steps (10 s). ``info["is_success"]``:
hover, within 0.1 m and 0.2 m/s of the target now; waypoints and gates, all reached. A gate counts
when the quadrotor crosses its plane forward inside the 0.6 m opening; a waypoint within 0.15 m.

## Arguments
``mission`` ("hover" | "waypoints" | "gates"), ``action`` ("motors" | "ctbr"), ``n_waypoints`` (3; 1–10),
``n_gates`` (3; 1–10), ``n_obstacles`` (0–8 pillars, gates only; default 0), ``wind_m_s`` (0–15, default 0:
mean wind speed, random direction), ``gust_m_s`` (0–5, default 0: gust standard deviation, 1 s
correlation time), ``max_tilt_rad`` (1.2), ``course_episodes`` (1: episodes flown on one gate course
before a new one is drawn and compiled; MuJoCo compiles one in ~3 ms, PyBullet in 10–20 ms),
``params`` (a ``QuadrotorParams``: mass, inertia, ``motor.kf``, ``motor.km``, ``motor.tau_s``, ``drag``).
Longer courses need more time: pass ``max_episode_steps`` to ``gymnasium.make``.

## Domain Randomization
``randomize=True`` samples this space at every reset (``UAVTask.param_space()``,
where a comment on each line says why its range is what it is); ``info["params"]`` holds the
values drawn. Pass a file or a ``ParamSpace`` to ``randomize=`` to change it.

| parameter | distribution | nominal | unit | meaning |
|---|---|---|---|---|
| `quadrotor.mass_kg` | U(0.01755, 0.03645) | 0.027 | kg | airframe mass |
| `quadrotor.inertia_scale` | U(0.8, 1.2) | 1 |  | inertia tensor scale |
| `motor.kf` | U(2.054e-10, 4.266e-10) | 3.16e-10 | N/rpm^2 | thrust = kf·ω² |
| `motor.km` | U(5.955e-12, 9.925e-12) | 7.94e-12 | N·m/rpm^2 | yaw torque = km·ω² |
| `motor.tau_s` | U(0.05, 0.1) | 0.072 | s | first-order motor lag |
| `drag.xy_n_s_m` | U(0.00364, 0.00756) | 0.0056 | N·s/m | horizontal rotor drag |
| `drag.z_n_s_m` | U(0.004095, 0.008505) | 0.0063 | N·s/m | vertical rotor drag |
| `actuation.latency_s` | U(0, 0.04) | 0 | s | command-to-motor delay |
| `wind.speed_m_s` | U(0, 1) | 0 | m/s | mean wind |
| `observation.noise_std` | U(0, 0.01) | 0 |  | additive, state units |
| `imu.gyro_noise_density` | U(0.0001222, 0.0004887) | 0.0002443 | rad/s/√Hz | gyro white noise |
| `imu.accel_noise_density` | U(0.0008581, 0.003432) | 0.001716 | m/s²/√Hz | accel white noise |

## Version History
- v0: first version.
"""

from __future__ import annotations

import math
from typing import Any

import gymnasium
import numpy as np

from dataclasses import replace

from simsuite.backends.base import Backend
from simsuite.randomization import Param, ParamSpace
from simsuite.rewards import tolerance
from simsuite.scene import Scene
from simsuite.task import Task
from simsuite.transforms import quat_from_euler, quat_to_mat
from simsuite.worlds.quadrotor import QUAD, ROTOR_SITES, Arena, Course, QuadrotorParams, RateController, Rotors, Wind
from simsuite.worlds.quadrotor import build_world, draw_course, draw_waypoints

MISSIONS = ("hover", "waypoints", "gates")
ACTIONS = ("motors", "ctbr")
MAX_RATES_RAD_S = np.array([6.0, 6.0, 3.0])  # ctbr command range: roll, pitch, yaw [rad/s]
POS_BOUND_M, VEL_BOUND_M_S, RATE_BOUND_RAD_S = 10.0, 30.0, 35.0
HOVER_TOL_M, HOVER_SPEED_TOL_M_S, WAYPOINT_RADIUS_M = 0.1, 0.2, 0.15
REACH_BONUS, CRASH_PENALTY, RATE_WEIGHT = 10.0, -10.0, 0.1
# option -> (low, high) for the integer and real options; checked in UAVTask.__init__
_INT_OPTIONS = {"n_waypoints": (1, 10), "n_gates": (1, 10), "n_obstacles": (0, 8), "course_episodes": (1, 1_000_000)}
_REAL_OPTIONS = {"wind_m_s": (0.0, 15.0), "gust_m_s": (0.0, 5.0), "max_tilt_rad": (0.2, math.pi)}


_GYRO_ND, _ACCEL_ND = math.radians(0.014), 175e-6 * 9.80665  # BMI088 datasheet [rad/s/√Hz], [m/s²/√Hz]
# task parameter name -> (QuadrotorParams group or None for the task itself, attribute)
_TASK_PARAMS = {
    "motor.kf": ("motor", "kf"), "motor.km": ("motor", "km"), "motor.tau_s": ("motor", "tau_s"),
    "drag.xy_n_s_m": ("drag", "xy_n_s_m"), "drag.z_n_s_m": ("drag", "z_n_s_m"),
    "wind.speed_m_s": (None, "wind_m_s"), "wind.gust_m_s": (None, "gust_m_s"),
}


class UAVTask(Task):
    control_dt_s = 0.02  # 50 Hz; 4 physics steps of 5 ms

    def __init__(self, mission: str = "hover", action: str = "motors", n_waypoints: int = 3, n_gates: int = 3,
                 n_obstacles: int = 0, wind_m_s: float = 0.0, gust_m_s: float = 0.0, max_tilt_rad: float = 1.2,
                 course_episodes: int = 1, params: QuadrotorParams | None = None):
        options = dict(n_waypoints=n_waypoints, n_gates=n_gates, n_obstacles=n_obstacles, course_episodes=course_episodes,
                       wind_m_s=wind_m_s, gust_m_s=gust_m_s, max_tilt_rad=max_tilt_rad)
        _validate(mission, action, options, params)
        self.mission, self.action = mission, action
        self.n_waypoints, self.n_gates, self.n_obstacles = int(n_waypoints), int(n_gates), int(n_obstacles)
        self.wind_m_s, self.gust_m_s, self.max_tilt_rad = float(wind_m_s), float(gust_m_s), float(max_tilt_rad)
        self._min_cos_tilt = math.cos(self.max_tilt_rad)  # body z·world z below this is a crash
        self.course_episodes = int(course_episodes)
        self.params = params or QuadrotorParams()
        self.arena = Arena()
        self.rate_controller = RateController(self.params)
        self._wind = Wind(self.wind_m_s, self.gust_m_s, self.control_dt_s)
        p = self.params
        self._drag = -np.array([p.drag.xy_n_s_m, p.drag.xy_n_s_m, p.drag.z_n_s_m])  # [N·s/m], body axes
        self._obs_size = 25 if mission == "gates" else 22
        self._obs_high = self.observation_space.high.astype(np.float64)
        self._obs_low, self._raw = -self._obs_high, np.zeros(self._obs_size)
        self._body_wrench = np.zeros((2, 3))  # rotor, drag and wind force and torque, body axes (scratch)
        self._course: Course | None = None
        self._course_rng: np.random.Generator | None = None
        self._course_age = 0
        self._key = None  # physics time of the last read and check
        self._params_changed = False  # set_param ran: _follow_params before the next use

    # -- world -------------------------------------------------------------------------
    def build_scene(self, rng: np.random.Generator) -> Scene:
        """Open space, or a new gate course (the only case with per-episode static geometry)."""
        self._course = draw_course(rng, self.n_gates, self.n_obstacles, self.arena) if self.mission == "gates" else None
        self._course_rng, self._course_age = rng, 0
        scene = build_world(self.params, self._course, self.arena)
        sites = {site.name: site.pos for site in scene.body(QUAD).sites}
        self._rotor_pos = np.array([sites[name] for name in ROTOR_SITES])
        self._rotors = Rotors(self.params, self._rotor_pos, self.control_dt_s)
        return scene

    # -- full state: motors, last action, wind, targets, the applied wrench --------------------
    def get_state(self) -> np.ndarray:
        if self._params_changed:
            self._follow_params()
        w = self._wind
        return np.concatenate([self._rotors.rpm, self._last_action, w.mean, w.gust, self._prev_pos,
                               self._targets.ravel(), [self._index], self._wrench])

    def set_state(self, backend: Backend, state: np.ndarray) -> None:
        if self._params_changed:
            self._follow_params()
        s = np.asarray(state, dtype=np.float64)
        self._rotors.rpm, self._last_action = s[0:4].copy(), s[4:8].copy()
        self._wind.mean, self._wind.gust, self._prev_pos = s[8:11].copy(), s[11:14].copy(), s[14:17].copy()
        self._targets, self._index = s[17:-7].reshape(-1, 3).copy(), int(s[-7])
        self._target_lists = self._targets.tolist()
        self._wrench = s[-6:].copy()
        self.resync(backend)

    def restore_forces(self, backend: Backend, action: np.ndarray) -> None:
        """The recorded wrench itself: recomputing it from the restored motor speeds and
        attitude would advance the rotor lag once more (inexact under latency)."""
        backend.apply_force(QUAD, self._wrench[:3], self._wrench[3:], frame="world")

    # -- parameters the task models (the engine only sees the resulting wrench) -----------
    def param_names(self) -> list[str]:
        return list(_TASK_PARAMS)

    def get_param(self, name: str) -> float:
        if name not in _TASK_PARAMS:
            return super().get_param(name)
        group, attr = _TASK_PARAMS[name]
        return float(getattr(self if group is None else getattr(self.params, group), attr))

    def set_param(self, name: str, value: float) -> None:
        if name not in _TASK_PARAMS:
            return super().set_param(name, value)
        if not (math.isfinite(value) and value >= 0) or (value == 0 and name in ("motor.kf", "motor.tau_s")):
            raise ValueError(f"{name} must be finite and {'> 0' if name in ('motor.kf', 'motor.tau_s') else '>= 0'}, got {value}")
        group, attr = _TASK_PARAMS[name]
        if group is None:
            setattr(self, attr, float(value))
            self._wind = Wind(self.wind_m_s, self.gust_m_s, self.control_dt_s)
            return
        self.params = replace(self.params, **{group: replace(getattr(self.params, group), **{attr: float(value)})})
        self._params_changed = True  # a randomized reset sets several: rebuild once, at the next use

    def _follow_params(self) -> None:
        """Rebuild the rate loop, drag and rotors from ``params`` after :meth:`set_param`."""
        self._params_changed = False
        self.rate_controller = RateController(self.params)
        self._drag = -np.array([self.params.drag.xy_n_s_m, self.params.drag.xy_n_s_m, self.params.drag.z_n_s_m])
        self._rotors = Rotors(self.params, self._rotor_pos, self.control_dt_s)

    def param_space(self) -> ParamSpace:
        """UAV-v0's default randomization (``randomize=True``): a Crazyflie-class airframe
        whose build, battery and propellers vary from unit to unit."""
        m, kf, km = QuadrotorParams().mass_kg, QuadrotorParams().motor.kf, QuadrotorParams().motor.km
        xy, z = QuadrotorParams().drag.xy_n_s_m, QuadrotorParams().drag.z_n_s_m
        return ParamSpace([
            # Mass: U(±35%): battery size, guards, markers, a camera deck
            Param("quadrotor.mass_kg", m, 0.65 * m, 1.35 * m, unit="kg", doc="airframe mass"),
            # Inertia: U(0.8, 1.2)× the CAD value: mass placement is uncertain
            Param("quadrotor.inertia_scale", 1.0, 0.8, 1.2, doc="inertia tensor scale"),
            # Thrust coefficient: U(±35%): propeller wear, battery voltage sag
            Param("motor.kf", kf, 0.65 * kf, 1.35 * kf, unit="N/rpm^2", doc="thrust = kf·ω²"),
            # Yaw drag coefficient: U(±25%): propeller shape
            Param("motor.km", km, 0.75 * km, 1.25 * km, unit="N·m/rpm^2", doc="yaw torque = km·ω²"),
            # Motor time constant: U(0.05, 0.10) s: ESC and motor response
            Param("motor.tau_s", 0.072, 0.05, 0.10, unit="s", doc="first-order motor lag"),
            # Rotor drag: U(±35%), in both axes: induced drag of the propellers
            Param("drag.xy_n_s_m", xy, 0.65 * xy, 1.35 * xy, unit="N·s/m", doc="horizontal rotor drag"),
            Param("drag.z_n_s_m", z, 0.65 * z, 1.35 * z, unit="N·s/m", doc="vertical rotor drag"),
            # Motor latency: U(0, 40) ms: radio link plus ESC update
            Param("actuation.latency_s", 0.0, 0.0, 0.04, unit="s", doc="command-to-motor delay"),
            # Wind: U(0, 1) m/s in a random heading: indoor drafts
            Param("wind.speed_m_s", 0.0, 0.0, 1.0, unit="m/s", doc="mean wind"),
            # Observation noise: U(0, 0.01) on the state vector: state-estimator error
            Param("observation.noise_std", 0.0, 0.0, 0.01, doc="additive, state units"),
            # Gyro noise density: U(0.5, 2)× BMI088's 0.014 °/s/√Hz (used when the imu is observed)
            Param("imu.gyro_noise_density", _GYRO_ND, 0.5 * _GYRO_ND, 2 * _GYRO_ND, unit="rad/s/√Hz", doc="gyro white noise"),
            # Accelerometer noise density: U(0.5, 2)× BMI088's 175 µg/√Hz (used when the imu is observed)
            Param("imu.accel_noise_density", _ACCEL_ND, 0.5 * _ACCEL_ND, 2 * _ACCEL_ND, unit="m/s²/√Hz", doc="accel white noise"),
        ])

    def rebuild_scene(self, rng: np.random.Generator) -> bool:
        """Gates: a new course after ``course_episodes`` episodes, and always after a new seed
        (a fresh Generator), so that a seeded reset replays exactly."""
        return self.mission == "gates" and (rng is not self._course_rng or self._course_age >= self.course_episodes)

    @property
    def action_space(self) -> gymnasium.spaces.Box:
        return gymnasium.spaces.Box(-1.0, 1.0, (4,), np.float32)

    @property
    def observation_space(self) -> gymnasium.spaces.Box:
        high = np.ones(self._obs_size, np.float32)
        high[0:3], high[12:15], high[15:18] = POS_BOUND_M, VEL_BOUND_M_S, RATE_BOUND_RAD_S
        return gymnasium.spaces.Box(-high, high, dtype=np.float32)

    # -- episode -------------------------------------------------------------------------
    def reset(self, backend: Backend, rng: np.random.Generator) -> None:
        if self._params_changed:
            self._follow_params()
        self._rng, self._course_age = rng, self._course_age + 1
        if self.mission == "gates":
            start = self._course.start
            self._targets = np.array([g.center for g in self._course.gates])
        elif self.mission == "waypoints":
            start = np.array([*rng.uniform(-0.5, 0.5, 2), rng.uniform(0.8, 1.2)])
            self._targets = draw_waypoints(rng, start, self.n_waypoints, self.arena)
        else:
            target = np.array([*rng.uniform(-1.0, 1.0, 2), rng.uniform(0.8, 1.5)])
            offset = rng.normal(size=3)
            start = target + offset / np.linalg.norm(offset) * rng.uniform(0.0, 1.0)
            start[2] = max(start[2], 0.4)
            self._targets = target[None, :]
        self._target_lists = self._targets.tolist()
        quat = quat_from_euler(*rng.uniform(-0.15, 0.15, 2), rng.uniform(-math.pi, math.pi))
        backend.set_body_pose(QUAD, start, quat)
        backend.set_body_velocity(QUAD, rng.uniform(-0.2, 0.2, 3), rng.uniform(-0.3, 0.3, 3))
        p = self.params
        self._rotors.reset()
        self._wind.reset(rng)
        self._wrench = np.zeros(6)  # the rotor wrench last applied (world force, torque)
        # the command that holds the motors where they are: the "last action" of a hovering drone
        if self.action == "motors":
            self._last_action = np.full(4, 2 * p.hover_rpm / p.motor.max_rpm - 1)
        else:
            self._last_action = np.array([p.weight_n / (2 * p.max_thrust_n) - 1, 0.0, 0.0, 0.0])
        self._index, self._reached_now = 0, 0
        self._prev_pos = start.copy()
        self.resync(backend)

    def apply_action(self, backend: Backend, action: np.ndarray) -> None:
        """Motor commands → lagged motor speeds → rotor wrench, drag and wind, held for the rest
        of the control step. Drag and the body-to-world rotation use the motion read at the
        start of the step (the last :meth:`_sync`), as the held wrench does for the whole step;
        under action latency the backend holds the wrench back for the delay's first substeps."""
        if self._params_changed:
            self._follow_params()
        if self.action == "motors":
            rpm_cmd = (action + 1.0) * (0.5 * self.params.motor.max_rpm)
        else:
            collective = (float(action[0]) + 1.0) * (2.0 * self.params.max_thrust_n)
            rates = self._rates  # body axes, from the start of the step
            rpm_cmd = self.rate_controller.motor_rpm(collective, action[1:] * MAX_RATES_RAD_S, rates)
        self._last_action = np.array(action, dtype=np.float64)
        wrench = self._rotors.step(rpm_cmd)  # thrust [N] and torque [N·m], body frame
        rot = self._rot
        air_body = (self._vel - self._wind.step(self._rng)) @ rot  # = Rᵀ·v_air
        body = self._body_wrench  # rows: force, torque [body axes]
        np.multiply(self._drag, air_body, out=body[0])
        body[0, 2] += wrench[0]
        body[1] = wrench[1:]
        self._wrench = (body @ rot.T).ravel()  # rows R·f, R·τ: world force, torque (in the state)
        world = self._wrench.tolist()
        backend.apply_force(QUAD, world[:3], world[3:], frame="world")

    # -- state, read once per step -------------------------------------------------------
    @property
    def motor_rpm(self) -> np.ndarray:
        """Current motor speeds [rpm], rotors 0–3 (they lag behind the commands)."""
        if self._params_changed:
            self._follow_params()
        return self._rotors.rpm.copy()

    @property
    def course(self) -> Course | None:
        """The gate course being flown (mission="gates"), else None."""
        return self._course

    @property
    def wind_velocity_m_s(self) -> np.ndarray:
        """The wind blowing now (mean plus gust), world axes [m/s]."""
        return self._wind.mean + self._wind.gust

    def resync(self, backend: Backend) -> None:
        """Re-read the quadrotor after its state was changed outside the step loop (tests,
        replays through ``backend.set_state``): reads are cached once per physics state."""
        self._key = None
        self._sync(backend)

    def _sync(self, backend: Backend) -> None:
        """Read the quadrotor's pose and velocity and check crash and mission, once per physics
        state: observation, reward and the end checks of a step all ask."""
        key = backend.time_s  # reset() clears the key, so equal times of two episodes never mix
        if key == self._key:
            return
        self._key = key
        pos, quat, vel, omega = backend.body_motion(QUAD)
        self._pos, self._vel, self._omega = pos, vel, omega
        self._pos_list = pos.tolist()  # math.dist and the bounds check take floats
        self._rot = quat_to_mat(quat.tolist())  # from floats: twice as fast, the same values
        self._rates = omega @ self._rot  # = Rᵀ·ω: body axes
        self._crash = self._crash_reason(backend)
        self._reached_now = 0
        if not self._crash and self.mission != "hover":
            while self._index < len(self._targets) and self._reached(self._index):
                self._index += 1
                self._reached_now += 1
        self._prev_pos = pos

    def _reached(self, k: int) -> bool:
        """Waypoint: within its radius. Gate: crossed its plane forward, inside the opening."""
        if self.mission == "waypoints":
            return math.dist(self._target_lists[k], self._pos_list) < WAYPOINT_RADIUS_M
        gate = self._course.gates[k]
        before, after = gate.normal @ (self._prev_pos - gate.center), gate.normal @ (self._pos - gate.center)
        if not before < 0.0 <= after:
            return False
        cross = self._prev_pos + (self._pos - self._prev_pos) * (before / (before - after)) - gate.center
        lateral = abs(cross[0] * -gate.normal[1] + cross[1] * gate.normal[0])
        return max(lateral, abs(cross[2])) < self.arena.gate_half_opening_m

    def _crash_reason(self, backend: Backend) -> str:
        for contact in backend.contacts(QUAD):  # touching only: PyBullet also lists points up to 1 mm apart
            if contact.distance_m <= 0.0:
                return {"floor": "ground"}.get(contact.other, "gate" if contact.other.startswith("gate") else "obstacle")
        if self._rot[2, 2] < self._min_cos_tilt:
            return "tilt"
        a = self.arena
        x, y, z = self._pos_list
        if abs(x) > a.half_xy_m or abs(y) > a.half_xy_m or z > a.ceiling_m:
            return "out_of_bounds"
        return ""

    def _target(self) -> np.ndarray:
        return self._targets[min(self._index, len(self._targets) - 1)]

    def _target_distance(self) -> float:
        """Distance to the current target [m] (floats: math.dist on arrays costs 10×)."""
        return math.dist(self._target_lists[min(self._index, len(self._targets) - 1)], self._pos_list)

    # -- observation, reward, end ----------------------------------------------------------
    def observe(self, backend: Backend) -> np.ndarray:
        self._sync(backend)
        raw = self._raw
        raw[0:3] = self._target() - self._pos
        raw[3:12] = self._rot.ravel()
        raw[12:15] = self._vel
        raw[15:18] = self._rates
        raw[18:22] = self._last_action
        if self.mission == "gates":
            raw[22:25] = self._course.gates[min(self._index, self.n_gates - 1)].normal
        clipped = np.maximum(raw, self._obs_low)  # np.clip's Python wrappers cost more than the clip
        return np.minimum(clipped, self._obs_high, out=clipped).astype(np.float32)

    def reward_terms(self, backend: Backend, action: np.ndarray) -> dict[str, float]:
        self._sync(backend)
        radius = HOVER_TOL_M if self.mission == "hover" else WAYPOINT_RADIUS_M
        dist = self._target_distance()
        spin = math.hypot(*self._rates.tolist())
        return {
            "target": tolerance(dist, (0.0, radius), margin=1.0),
            "reached": REACH_BONUS * self._reached_now,
            "rates": -RATE_WEIGHT * (1.0 - tolerance(spin, (0.0, 0.5), margin=10.0)),
            "crash": CRASH_PENALTY if self._crash else 0.0,
        }

    def is_terminated(self, backend: Backend) -> bool:
        self._sync(backend)
        return bool(self._crash) or (self.mission != "hover" and self._index >= len(self._targets))

    def is_success(self, backend: Backend) -> bool:
        self._sync(backend)
        if self._crash:
            return False
        if self.mission == "hover":
            return self._target_distance() < HOVER_TOL_M and math.hypot(*self._vel.tolist()) < HOVER_SPEED_TOL_M_S
        return self._index >= len(self._targets)

    def default_sensors(self) -> dict[str, dict]:
        return {"imu": {"preset": "bmi088", "body": QUAD}}

    def extra_info(self, backend: Backend) -> dict[str, Any]:
        self._sync(backend)
        return {"crash": self._crash, "targets_reached": self._index}


def _validate(mission: str, action: str, options: dict[str, Any], params: object) -> None:
    """Errors at the door: name the option and what it allows."""
    for name, value, allowed in (("mission", mission, MISSIONS), ("action", action, ACTIONS)):
        if value not in allowed:
            raise ValueError(f"{name} must be one of {allowed}, got {value!r}")
    for name, (low, high) in _INT_OPTIONS.items():
        value = options[name]
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or not low <= value <= high:
            raise ValueError(f"{name} must be an integer in [{low}, {high}], got {value!r}")
    for name, (low, high) in _REAL_OPTIONS.items():
        value = options[name]
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= high:
            raise ValueError(f"{name} must be a number in [{low}, {high:.4g}], got {value!r}")
    if options["n_obstacles"] and mission != "gates":
        raise ValueError(f"n_obstacles is for mission='gates' only, got mission={mission!r}")
    if params is not None and not isinstance(params, QuadrotorParams):
        raise ValueError(f"params must be a QuadrotorParams, got {type(params).__name__}")
