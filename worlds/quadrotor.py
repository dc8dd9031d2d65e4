"""A Crazyflie 2.x-class quadrotor, its rotor mixer and rate loop, and the worlds it flies in.

The quadrotor is one free rigid body with an explicit inertial; its four rotors are
named sites where the task applies thrust. All calibrated constants live in
:class:`QuadrotorParams` (nested as ``motor.*`` and ``drag.*``, the dotted names a
ParamSpace will use), after gym-pybullet-drones' ``cf2x.urdf`` and Förster (2015).

Worlds: open space (hover, waypoints) or a gate course: square gate frames (static
boxes on a post) flown through in order, plus optional pillars that are guaranteed to
keep clear of the straight line through the course. Everything random comes from
the ``rng`` passed in.

Body frame: x forward, y left, z up (REP-103). Rotors in the X configuration:
0 front-right, 1 back-right, 2 back-left, 3 front-left; 0 and 2 spin counter-clockwise
(seen from above), so their drag torque on the body is -z.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from simsuite.scene import Body, Geom, Inertial, Joint, Scene, Site
from simsuite.transforms import quat_from_axis_angle

GRAVITY_M_S2 = 9.81
QUAD = "quadrotor"
ROTOR_SITES = tuple(f"rotor_{i}" for i in range(4))
ROTOR_SIGNS = np.array([(1, -1), (-1, -1), (-1, 1), (1, 1)], dtype=float)  # x, y sign per rotor
SPIN = np.array([-1.0, 1.0, -1.0, 1.0])  # yaw torque sign per rotor (km·ω² along this)
_NOMINAL_MASS_KG, _NOMINAL_KF = 0.027, 3.16e-10
_NOMINAL_HOVER_RPM = math.sqrt(_NOMINAL_MASS_KG * GRAVITY_M_S2 / (4 * _NOMINAL_KF))  # ≈ 14,476


@dataclass(frozen=True)
class MotorParams:
    kf: float = _NOMINAL_KF  # thrust per motor = kf·ω² [N/rpm²]
    km: float = 7.94e-12  # yaw drag torque per motor = km·ω² [N·m/rpm²]
    tau_s: float = 0.072  # first-order lag of motor speed toward its command [s]
    # Speed limit of the motor (not of the propeller): thrust-to-weight 2.25 at nominal kf.
    max_rpm: float = math.sqrt(2.25) * _NOMINAL_HOVER_RPM  # ≈ 21,714 rpm, 0.149 N per motor


@dataclass(frozen=True)
class DragParams:
    """Rotor-induced drag, linear in air-relative velocity, in body axes [N·s/m]. Förster (2015)
    identified 9.1785e-7 (x, y) and 10.311e-7 (z) N·s/m per rad/s of summed rotor speed
    (gym-pybullet-drones' DRAG_COEFF); evaluated at hover (Σω ≈ 6,063 rad/s) they give the
    constants below: 1 m/s of airspeed costs 2 % of the weight, a 3 m/s wind tilts the hover ~4°."""

    xy_n_s_m: float = 5.6e-3
    z_n_s_m: float = 6.3e-3


@dataclass(frozen=True)
class QuadrotorParams:
    mass_kg: float = _NOMINAL_MASS_KG
    inertia_kg_m2: tuple[float, float, float] = (1.4e-5, 1.4e-5, 2.17e-5)  # cf2x.urdf
    arm_m: float = 0.0397  # centre to rotor axis; rotors at ±arm/√2 ≈ ±0.028 m in x and y
    motor: MotorParams = field(default_factory=MotorParams)
    drag: DragParams = field(default_factory=DragParams)

    @property
    def weight_n(self) -> float:
        return self.mass_kg * GRAVITY_M_S2

    @property
    def hover_rpm(self) -> float:
        return math.sqrt(self.weight_n / (4 * self.motor.kf))

    @property
    def max_thrust_n(self) -> float:
        """Thrust of one motor at full speed [N]."""
        return self.motor.kf * self.motor.max_rpm**2

    @property
    def thrust_to_weight(self) -> float:
        return 4 * self.max_thrust_n / self.weight_n

    def rotor_positions(self) -> np.ndarray:
        """(4, 3) rotor hub positions in the body frame [m]."""
        d = self.arm_m / math.sqrt(2)
        return np.c_[ROTOR_SIGNS * d, np.zeros(4)]


def cross3(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """a × b for 3-vectors: 20× cheaper than np.cross (whose axis handling dominates at n = 3)."""
    return np.array([a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]])


# ---------------------------------------------------------------------------
# Mixer and the inner rate loop (used by the task's "ctbr" action and by the expert)


def mixer_matrix(params: QuadrotorParams, rotor_pos: np.ndarray | None = None) -> np.ndarray:
    """M with [collective N, τx, τy, τz N·m] = M @ rotor thrusts [N]: thrust f along body +z at
    rotor position r gives torque r × f = (r_y·f, −r_x·f, 0); drag torque is ±(km/kf)·f."""
    r = params.rotor_positions() if rotor_pos is None else rotor_pos
    return np.vstack([np.ones(4), r[:, 1], -r[:, 0], SPIN * params.motor.km / params.motor.kf])


class RateController:
    """Body-rate P loop plus gyroscopic feed-forward, then thrust allocation: the part of a
    flight controller that turns collective thrust and body rates into motor speed commands.
    The gain is set by the 0.072 s motor lag: ω_n = √(k/τ) ≈ 9 rad/s, damping ≈ 0.7."""

    def __init__(self, params: QuadrotorParams, gain_1_s: tuple[float, float, float] = (6.0, 6.0, 4.0)):
        self.params = params
        self.inertia = np.asarray(params.inertia_kg_m2, dtype=float)
        self.gain = np.asarray(gain_1_s, dtype=float)
        self.unmix = np.linalg.inv(mixer_matrix(params))
        self.max_thrust_n = params.max_thrust_n

    def rotor_thrusts(self, collective_n: float, rates_des: np.ndarray, rates: np.ndarray) -> np.ndarray:
        """Per-rotor thrusts [N] in [0, max]: roll and pitch first, yaw gives way when saturated."""
        jw = self.inertia * rates
        torque = self.inertia * self.gain * (rates_des - rates) + cross3(rates, jw)
        top = self.max_thrust_n
        collective = min(max(collective_n, 0.0), 4 * top)
        thrusts = self.unmix @ np.array([collective, torque[0], torque[1], torque[2]])
        if thrusts.min() < 0.0 or thrusts.max() > top:
            thrusts = self.unmix @ np.array([collective, torque[0], torque[1], 0.0])
        return np.clip(thrusts, 0.0, top)

    def motor_rpm(self, collective_n: float, rates_des: np.ndarray, rates: np.ndarray) -> np.ndarray:
        """Motor speed commands [rpm] for a collective thrust [N] and desired body rates [rad/s]."""
        return np.sqrt(self.rotor_thrusts(collective_n, rates_des, rates) / self.params.motor.kf)


class Rotors:
    """The four motors and propellers over one control step of ``dt_s``: each speed follows
    its command with a first-order lag, and the rotors give the exact mean of kf·ω² (thrust at
    the rotor position) and ±km·ω² (drag torque) over the step, as one body-frame wrench.
    Exact for a command held over the step, so the result does not depend on dt_s / τ."""

    def __init__(self, params: QuadrotorParams, rotor_pos: np.ndarray, dt_s: float):
        tau = params.motor.tau_s
        self.decay = math.exp(-dt_s / tau)
        # ω(t) = c + (ω0 − c)·e^(−t/τ): mean ω² = c² + c·(ω0 − c)·m1 + (ω0 − c)²·m2
        self.m1 = 2 * tau / dt_s * (1 - self.decay)
        self.m2 = tau / (2 * dt_s) * (1 - self.decay**2)
        self.wrench_of_rpm_sq = mixer_matrix(params, rotor_pos) * params.motor.kf  # rows: thrust, τx, τy, τz
        self.hover_rpm = params.hover_rpm
        self.rpm = np.full(4, self.hover_rpm)

    def reset(self) -> None:
        """Motors spinning at hover speed: episodes start in flight."""
        self.rpm = np.full(4, self.hover_rpm)

    def step(self, rpm_cmd: np.ndarray) -> np.ndarray:
        """Advance the motors one step toward ``rpm_cmd``; returns [thrust N, τx, τy, τz N·m]."""
        gap = self.rpm - rpm_cmd
        mean_sq = rpm_cmd * (rpm_cmd + self.m1 * gap) + self.m2 * gap * gap
        self.rpm = rpm_cmd + self.decay * gap
        return self.wrench_of_rpm_sq @ mean_sq


class Wind:
    """Mean wind of a random heading plus an Ornstein–Uhlenbeck gust (per axis, standard
    deviation ``gust_m_s``, correlation time ``correlation_s``), drawn from the env's rng."""

    def __init__(self, speed_m_s: float, gust_m_s: float, dt_s: float, correlation_s: float = 1.0):
        self.speed_m_s, self.gust_m_s = speed_m_s, gust_m_s
        self.keep = math.exp(-dt_s / correlation_s)  # gust memory per step
        self.mean, self.gust = np.zeros(3), np.zeros(3)

    def reset(self, rng: np.random.Generator) -> None:
        heading = rng.uniform(-math.pi, math.pi)
        self.mean = self.speed_m_s * np.array([math.cos(heading), math.sin(heading), 0.0])
        self.gust = np.zeros(3)

    def step(self, rng: np.random.Generator) -> np.ndarray:
        """The air velocity for the next step, world axes [m/s] (no draws when there are no gusts)."""
        if self.gust_m_s > 0:
            noise = self.gust_m_s * math.sqrt(1 - self.keep**2) * rng.normal(size=3)
            self.gust = self.keep * self.gust + noise
        return self.mean + self.gust


# ---------------------------------------------------------------------------
# The quadrotor body


def quadrotor_body(params: QuadrotorParams, pos: tuple[float, float, float] = (0.0, 0.0, 1.0)) -> Body:
    """Free body, centre of mass at the frame origin; one box collides (rotor tips included)."""
    d = params.arm_m / math.sqrt(2)
    prop_r, arm_half = 0.0225, params.arm_m  # 45 mm propellers [m]
    extent = d + prop_r  # ≈ 0.05 m: rotor tip to centre, along x and y
    geoms = [Geom("quad_hull", "box", (extent, extent, 0.015), rgba=(0.2, 0.2, 0.2, 0.3), visible=False)]
    geoms.append(Geom("quad_board", "box", (0.015, 0.015, 0.004), rgba=(0.1, 0.1, 0.1, 1.0), collide=False))
    for k, angle in enumerate((math.pi / 4, -math.pi / 4)):
        arm_quat = quat_from_axis_angle((-math.sin(angle), math.cos(angle), 0.0), math.pi / 2)
        geoms.append(Geom(f"quad_arm_{k}", "capsule", (0.002, arm_half), quat=arm_quat, rgba=(0.3, 0.3, 0.3, 1.0), collide=False))
    sites = []
    for i, (sx, sy) in enumerate(ROTOR_SIGNS):
        sites.append(Site(ROTOR_SITES[i], pos=(sx * d, sy * d, 0.0)))
        color = (0.9, 0.2, 0.2, 0.6) if sx > 0 else (0.2, 0.2, 0.9, 0.6)  # red front, blue back
        geoms.append(Geom(f"quad_prop_{i}", "cylinder", (prop_r, 0.001), pos=(sx * d, sy * d, 0.006), rgba=color, collide=False))
    return Body(
        QUAD,
        pos=pos,
        joint=Joint("quadrotor_free", "free"),
        geoms=geoms,
        sites=sites,
        inertial=Inertial(params.mass_kg, params.inertia_kg_m2),
        semantic_class="robot",
    )


# ---------------------------------------------------------------------------
# Worlds


@dataclass(frozen=True)
class Arena:
    half_xy_m: float = 5.0  # flight volume |x|, |y| <= this [m]
    ceiling_m: float = 3.0  # z <= this [m]
    gate_half_opening_m: float = 0.3  # inner half width and half height of a gate [m]
    gate_spacing_m: tuple[float, float] = (1.5, 2.5)  # from one gate to the next [m]
    max_turn_rad: float = math.pi / 4  # heading change from one course leg to the next
    gate_height_m: tuple[float, float] = (0.8, 1.6)  # gate centre z [m]
    pillar_radius_m: tuple[float, float] = (0.1, 0.25)
    pillar_clearance_m: float = 0.7  # from the course's straight legs to a pillar's surface [m]


@dataclass(frozen=True)
class Gate:
    center: np.ndarray  # (3,) [m]
    yaw_rad: float  # the gate's normal (flight direction) is (cos yaw, sin yaw, 0)

    @property
    def normal(self) -> np.ndarray:
        return np.array([math.cos(self.yaw_rad), math.sin(self.yaw_rad), 0.0])


@dataclass(frozen=True)
class Course:
    """A gate course: start position, gates in flight order, pillars as (x, y, radius)."""

    start: np.ndarray
    gates: tuple[Gate, ...]
    pillars: np.ndarray = field(default_factory=lambda: np.zeros((0, 3)))

    def legs(self) -> list[tuple[np.ndarray, np.ndarray]]:
        points = [self.start] + [g.center for g in self.gates]
        return list(zip(points[:-1], points[1:]))


def segment_distance(p: np.ndarray, a: np.ndarray, b: np.ndarray) -> float:
    """Distance from point p to the segment a–b (any dimension) [m]."""
    ab = b - a
    t = min(max(float(np.dot(p - a, ab) / max(np.dot(ab, ab), 1e-12)), 0.0), 1.0)
    return float(np.linalg.norm(p - (a + t * ab)))


def draw_course(rng: np.random.Generator, n_gates: int, n_pillars: int, arena: Arena = Arena()) -> Course:
    """Gates along a random walk whose legs turn at most ``max_turn_rad``; each gate faces
    the leg that arrives at it, so the straight line through the course crosses every gate
    head-on at its centre. Each gate is redrawn until the course fits the arena (once
    centred in it) and no leg passes within 1 m of another gate; the course is then shifted
    to the arena centre. Pillars keep ``pillar_clearance_m`` from every leg (in plan view)."""
    width = 2 * (arena.half_xy_m - 0.8)  # room for the course's plan-view bounding box [m]
    for _ in range(100):
        points = [np.array([0.0, 0.0, rng.uniform(0.8, 1.2)])]
        heading, yaws = rng.uniform(-math.pi, math.pi), []
        for k in range(n_gates):
            for _ in range(50):
                turn = rng.uniform(-arena.max_turn_rad, arena.max_turn_rad) if k else 0.0
                step = rng.uniform(*arena.gate_spacing_m)
                xy = points[-1][:2] + step * np.array([math.cos(heading + turn), math.sin(heading + turn)])
                candidate = np.array([xy[0], xy[1], rng.uniform(*arena.gate_height_m)])
                if _fits(points, candidate, width):
                    heading += turn
                    points.append(candidate)
                    yaws.append(heading)
                    break
            else:
                break  # this walk is boxed in: start another
        if len(yaws) == n_gates:
            plan = np.array(points)[:, :2]
            shift = np.r_[-(plan.min(axis=0) + plan.max(axis=0)) / 2, 0.0]
            gates = tuple(Gate(p + shift, yaw) for p, yaw in zip(points[1:], yaws))
            pillars = _draw_pillars(rng, Course(points[0] + shift, gates), n_pillars, arena)
            if len(pillars) == n_pillars:
                return Course(points[0] + shift, gates, pillars)
    raise RuntimeError(f"could not draw a course of {n_gates} gates and {n_pillars} pillars in the arena")


def _fits(points: list[np.ndarray], candidate: np.ndarray, width: float) -> bool:
    """The plan-view bounding box stays within ``width``, and neither the new leg nor the
    new gate comes within 1 m of an earlier gate or leg it is not joined to."""
    plan = np.array([p[:2] for p in points] + [candidate[:2]])
    if np.any(plan.max(axis=0) - plan.min(axis=0) > width):
        return False
    gates = plan[1:-1]  # earlier gates (points[0] is the start)
    new_leg = (plan[-2], plan[-1])
    if any(segment_distance(g, *new_leg) < 1.0 for g in gates[:-1]):
        return False
    return all(segment_distance(plan[-1], plan[k], plan[k + 1]) >= 1.0 for k in range(len(plan) - 2))


def _draw_pillars(rng: np.random.Generator, course: Course, n: int, arena: Arena) -> np.ndarray:
    pillars: list[tuple[float, float, float]] = []
    legs = course.legs()
    for _ in range(200 * n):
        if len(pillars) == n:
            break
        r = rng.uniform(*arena.pillar_radius_m)
        xy = rng.uniform(-arena.half_xy_m + r, arena.half_xy_m - r, 2)
        clear = min(segment_distance(xy, a[:2], b[:2]) for a, b in legs) - r
        apart = all(math.dist(xy, p[:2]) > r + p[2] + 0.3 for p in pillars)
        if clear >= arena.pillar_clearance_m and apart:
            pillars.append((float(xy[0]), float(xy[1]), float(r)))
    return np.array(pillars, dtype=float).reshape(-1, 3)


def draw_waypoints(rng: np.random.Generator, start: np.ndarray, n: int, arena: Arena = Arena()) -> np.ndarray:
    """(n, 3) waypoints, each 1–2 m from the previous one, inside a 3 m box at 0.5–2 m height."""
    points, point = [], np.asarray(start, dtype=float)
    while len(points) < n:
        candidate = point + rng.uniform(-2.0, 2.0, 3)
        dist = float(np.linalg.norm(candidate - point))
        if 1.0 <= dist <= 2.0 and np.all(np.abs(candidate[:2]) <= 3.0) and 0.5 <= candidate[2] <= 2.0:
            points.append(candidate)
            point = candidate
    return np.array(points)


def _gate_body(name: str, gate: Gate, a: float) -> Body:
    """A square frame (bars 4 cm thick, 5 cm deep) with inner half opening ``a``, on a post."""
    t, depth = 0.02, 0.025  # half thickness, half depth [m]
    color = (0.95, 0.5, 0.1, 1.0)
    post_half = max((gate.center[2] - a - 2 * t) / 2, 0.01)
    geoms = [
        Geom(f"{name}_top", "box", (depth, a + 2 * t, t), pos=(0.0, 0.0, a + t), rgba=color),
        Geom(f"{name}_bottom", "box", (depth, a + 2 * t, t), pos=(0.0, 0.0, -a - t), rgba=color),
        Geom(f"{name}_left", "box", (depth, t, a), pos=(0.0, a + t, 0.0), rgba=color),
        Geom(f"{name}_right", "box", (depth, t, a), pos=(0.0, -a - t, 0.0), rgba=color),
        Geom(f"{name}_post", "box", (depth, t, post_half), pos=(0.0, 0.0, -a - 2 * t - post_half), rgba=(0.4, 0.4, 0.4, 1.0)),
    ]
    quat = quat_from_axis_angle((0.0, 0.0, 1.0), gate.yaw_rad)
    return Body(name, pos=tuple(float(v) for v in gate.center), quat=quat, geoms=geoms, semantic_class="gate")


def build_world(params: QuadrotorParams, course: Course | None = None, arena: Arena = Arena(), timestep_s: float = 0.005) -> Scene:
    """Floor, the quadrotor, and (for a course) its gates and pillars as static bodies."""
    scene = Scene(name="uav", timestep_s=timestep_s)
    scene.add(Body("floor", geoms=[Geom("floor_plane", "plane", (0.0, 0.0), rgba=(0.5, 0.6, 0.5, 1.0))], semantic_class="floor"))
    scene.add(quadrotor_body(params))
    if course is not None:
        for k, gate in enumerate(course.gates):
            scene.add(_gate_body(f"gate_{k}", gate, arena.gate_half_opening_m))
        for k, (x, y, r) in enumerate(course.pillars):
            half = arena.ceiling_m / 2
            pillar = Geom(f"pillar_{k}_geom", "cylinder", (float(r), half), rgba=(0.5, 0.5, 0.55, 1.0))
            scene.add(Body(f"pillar_{k}", pos=(float(x), float(y), half), geoms=[pillar], semantic_class="obstacle"))
    return scene
