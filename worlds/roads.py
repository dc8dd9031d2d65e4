"""Procedural two-lane roads with markings, intersections, obstacles and parked cars,
and a full-size Ackermann car, as backend-neutral scenes (used by SimSuite/Drive-v0).

A road is a centreline whose curvature is drawn from the env's RNG segment by segment
(straights, curves, S-bend chicanes, straights with a crossing road), with curvature
ramps between segments so the heading is smooth. The road is two-way: the ego car
drives the right lane, the left lane carries oncoming traffic (when there is any) and
is where the ego passes a blocked lane. The heading stays within ±80° of +x, so x
grows along the road and the road can never cross itself.

Physics sees only the ground plane, the car and static boxes (obstacles, parked cars);
the road surface and its markings are visual-only geoms (``collide=False``). Lane
keeping and off-road are judged geometrically from the :class:`Route`.

Scale: a compact passenger car (1,500 kg, 2.7 m wheelbase, 4.4 × 1.8 m) on 3.5 m lanes,
the scale the road rules and the reference numbers (speeds, braking, lane widths) are
written for. Its heavy wheels (~1 kg·m²) and soft servos stay stable at a 0.025 s physics
step on both engines, where 1/10-scale cars with 0.1 kg wheels are simulated at 1/240 s
or finer (PyBullet's racecar example): ten times the physics steps per second driven.
The car has no suspension (rigid axles on a flat ground plane).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from simsuite.scene import Actuator, Body, Geom, Inertial, Joint, Scene
from simsuite.transforms import quat_from_axis_angle

# Semantic classes (the renderer's segmentation labels).
ROAD, MARKING, OBSTACLE, CAR, EGO, TERRAIN = "road", "lane_marking", "obstacle", "car", "robot", "terrain"
SAMPLE_M = 0.5  # route sampling step [m]
MAX_TILE_M = 20.0  # longest road-surface / edge-line tile [m]
SAGITTA_M = 0.05  # the most a straight tile may stray from the curve it stands for [m]
LINE_W_M = 0.15  # painted line width [m]
DASH_M, GAP_M = 3.0, 6.0  # centre-line dash and gap [m] (European rural roads)
HEADING_LIMIT_RAD = math.radians(80.0)
RAMP_M = 12.0  # curvature transition length between segments [m]
GREY, WHITE, GRASS = (0.25, 0.25, 0.27, 1.0), (0.95, 0.95, 0.95, 1.0), (0.35, 0.55, 0.3, 1.0)


# ---------------------------------------------------------------------------
# The car


@dataclass(frozen=True)
class CarSpec:
    """A compact passenger car; the numbers are typical of the class (VW Golf, Ford Focus)."""

    mass_kg: float = 1500.0  # total, wheels included
    wheelbase_m: float = 2.7
    track_m: float = 1.55
    wheel_radius_m: float = 0.31
    wheel_mass_kg: float = 20.0  # wheel + tyre + brake disc
    length_m: float = 4.4
    width_m: float = 1.8
    height_m: float = 1.45
    cg_height_m: float = 0.55  # above ground
    yaw_inertia_kg_m2: float = 2500.0
    max_steer_rad: float = 0.55  # road-wheel angle of the equivalent bicycle (31.5°)
    steer_kp: float = 400.0  # steering servo stiffness [N·m/rad]
    steer_kv: float = 20.0  # [N·m·s/rad]: ζ ≈ 0.65; kv·dt/I < 1 at dt ≤ 0.025 s (explicit damping)
    max_drive_torque_nm: float = 820.0  # per driven (rear) wheel: 3.5 m/s² at 1,500 kg
    max_power_w: float = 90e3  # drive force is limited to P/v above ~17 m/s
    top_speed_m_s: float = 30.0  # drive torque fades to 0 here (108 km/h)
    # Brakes are dry friction at the wheel joints (scene "brake" actuators), solved with the tyre
    # contacts: a wheel locks where the brake beats its grip and never turns backwards. Full
    # braking, 6.6 m/s² (0.67 g), stays under the tyres' grip on dry asphalt (μ = 0.9) with
    # margin, front before the load transfer builds up, rear after it; on a slippery road it locks.
    max_brake_torque_nm: float = 3050.0  # all four wheels together
    brake_bias_front: float = 0.6  # front share: 915 N·m per front wheel, 610 per rear
    tyre_friction: float = 1.0  # times the ground's 0.9: dry asphalt
    rolling_damping: float = 0.5  # wheel bearing and rolling loss [N·m·s/rad]

    @property
    def half_length_m(self) -> float:
        return self.length_m / 2

    @property
    def half_width_m(self) -> float:
        return self.width_m / 2


WHEELS = ("fl", "fr", "rl", "rr")


def car_names(prefix: str = "ego") -> dict[str, object]:
    """Every name the task needs, so it never rebuilds strings per step."""
    return {
        "chassis": prefix,
        "steer_joints": (f"{prefix}_steer_fl", f"{prefix}_steer_fr"),
        "steer_servos": (f"{prefix}_steer_fl_servo", f"{prefix}_steer_fr_servo"),
        "wheel_joints": tuple(f"{prefix}_spin_{w}" for w in WHEELS),
        "wheel_motors": tuple(f"{prefix}_motor_{w}" for w in WHEELS),
        "wheel_brakes": tuple(f"{prefix}_brake_{w}" for w in WHEELS),
        "wheel_bodies": tuple(f"{prefix}_wheel_{w}" for w in WHEELS),
    }


def build_car(spec: CarSpec, pos: tuple[float, float, float], yaw_rad: float, prefix: str = "ego") -> tuple[Body, list[Actuator]]:
    """Chassis (free) → front knuckles (steer hinges, position servos) → wheels (spin
    hinges, torque motors); rear wheels hang on the chassis. Wheels collide as spheres:
    a single contact point rolls identically on both engines, while cylinder contacts
    differ between them. The body frame is at the mid-wheelbase, at wheel-centre height."""
    r, half_l, half_t = spec.wheel_radius_m, spec.wheelbase_m / 2, spec.track_m / 2
    body_mass = spec.mass_kg - 4 * spec.wheel_mass_kg - 2 * 5.0
    cg_z = spec.cg_height_m - r
    inertia = (0.22 * spec.yaw_inertia_kg_m2, 0.92 * spec.yaw_inertia_kg_m2, spec.yaw_inertia_kg_m2)
    paint = (0.75, 0.1, 0.1, 1.0)
    chassis = Body(
        prefix,
        pos=pos,
        quat=quat_from_axis_angle((0, 0, 1), yaw_rad),
        joint=Joint(f"{prefix}_free", "free"),
        geoms=[
            Geom(f"{prefix}_hull", "box", (spec.half_length_m, spec.half_width_m, 0.36), pos=(0.0, 0.0, 0.24), rgba=paint, friction=0.5),
            Geom(f"{prefix}_cabin", "box", (1.2, spec.half_width_m - 0.1, 0.27), pos=(-0.25, 0.0, 0.87), rgba=(0.2, 0.25, 0.35, 1.0), friction=0.5),
        ],
        inertial=Inertial(body_mass, inertia, pos=(0.0, 0.0, cg_z)),
        semantic_class=EGO,
    )
    actuators: list[Actuator] = []
    for w in WHEELS:
        x = half_l if w[0] == "f" else -half_l
        y = half_t if w[1] == "l" else -half_t
        wheel = _wheel(spec, prefix, w)
        if w[0] == "f":
            knuckle = Body(
                f"{prefix}_knuckle_{w}",
                pos=(x, y, 0.0),
                joint=Joint(f"{prefix}_steer_{w}", "hinge", axis=(0, 0, 1), range=(-0.75, 0.75)),
                inertial=Inertial(5.0, (0.05, 0.05, 0.05)),
                semantic_class=EGO,
            )
            knuckle.add(wheel)
            chassis.add(knuckle)
            actuators.append(
                Actuator(f"{prefix}_steer_{w}_servo", f"{prefix}_steer_{w}", "position", kp=spec.steer_kp, kv=spec.steer_kv,
                         ctrl_range=(-0.75, 0.75), force_range=(-3000.0, 3000.0))
            )
        else:
            wheel.pos = (x, y, 0.0)
            chassis.add(wheel)
        limit = spec.max_drive_torque_nm
        actuators.append(Actuator(f"{prefix}_motor_{w}", f"{prefix}_spin_{w}", "torque", gear=1.0,
                                  ctrl_range=(-limit, limit), force_range=(-limit, limit)))
        actuators.append(Actuator(f"{prefix}_brake_{w}", f"{prefix}_spin_{w}", "brake", gear=brake_torques(spec)[WHEELS.index(w)],
                                  ctrl_range=(0.0, 1.0)))
    return chassis, actuators


def _wheel(spec: CarSpec, prefix: str, w: str) -> Body:
    """A wheel spinning about its body y axis: sphere contact, cylinder look."""
    r, m = spec.wheel_radius_m, spec.wheel_mass_kg
    i_spin = 0.5 * m * r * r * 1.05  # tyre and rim: a little more than a disc
    i_tilt = m * (3 * r * r + 0.2**2) / 12
    return Body(
        f"{prefix}_wheel_{w}",
        joint=Joint(f"{prefix}_spin_{w}", "hinge", axis=(0, 1, 0), damping=spec.rolling_damping),
        geoms=[
            Geom(f"{prefix}_tyre_{w}", "sphere", (r,), friction=spec.tyre_friction, visible=False),
            Geom(f"{prefix}_tyre_{w}_look", "cylinder", (r, 0.1), quat=quat_from_axis_angle((1, 0, 0), math.pi / 2),
                 rgba=(0.08, 0.08, 0.08, 1.0), collide=False),
        ],
        inertial=Inertial(m, (i_tilt, i_spin, i_tilt)),
        semantic_class=EGO,
    )


def brake_torques(spec: CarSpec) -> tuple[float, float, float, float]:
    """Full-brake torque per wheel [N·m], in ``WHEELS`` order (front-biased)."""
    front = spec.max_brake_torque_nm * spec.brake_bias_front / 2
    rear = spec.max_brake_torque_nm * (1 - spec.brake_bias_front) / 2
    return front, front, rear, rear


def car_controls(spec: CarSpec, names: dict, steer_rad: float, pedal: float, speed_m_s: float) -> dict[str, float]:
    """Actuator commands for a bicycle steering angle and a pedal in [-1, 1]: each front
    wheel servoed to its Ackermann angle; pedal > 0 drives the rear wheels (torque limited
    by traction, power and top speed), pedal < 0 brakes all four (that fraction of each
    wheel's brake torque, as dry friction: no push backwards at rest)."""
    torques = [0.0, 0.0, 0.0, 0.0]
    if pedal > 0:
        v = max(speed_m_s, 0.1)
        fade = min(max((spec.top_speed_m_s - v) / 3.0, 0.0), 1.0)
        per_wheel = min(spec.max_drive_torque_nm, spec.max_power_w / v * spec.wheel_radius_m / 2)
        torques[2] = torques[3] = pedal * per_wheel * fade
    controls = dict(zip(names["wheel_motors"], torques))
    controls.update(dict.fromkeys(names["wheel_brakes"], max(-pedal, 0.0)))
    left, right = ackermann_angles(steer_rad, spec.wheelbase_m, spec.track_m)
    controls[names["steer_servos"][0]], controls[names["steer_servos"][1]] = left, right
    return controls


def outline_ring(spec: CarSpec, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Unit directions every 360°/n counter-clockwise from straight ahead, and where each
    leaves the car's outline (5 cm outside), in the car frame: rays that start there never
    hit the car itself, whichever engine casts them."""
    ang = np.arange(n) * 2 * math.pi / n
    dirs = np.stack([np.cos(ang), np.sin(ang), np.zeros(n)], axis=1)
    with np.errstate(divide="ignore"):
        reach = np.minimum(spec.half_length_m / np.abs(dirs[:, 0]), spec.half_width_m / np.abs(dirs[:, 1])) + 0.05
    return dirs, dirs * reach[:, None]


def ackermann_angles(delta_rad: float, wheelbase_m: float, track_m: float) -> tuple[float, float]:
    """Left and right road-wheel angles for a bicycle-model angle ``delta_rad``: both
    wheels turn about one point on the rear-axle line, the inner one more."""
    t = math.tan(delta_rad)
    half = track_m / 2
    return math.atan(wheelbase_m * t / (wheelbase_m - half * t)), math.atan(wheelbase_m * t / (wheelbase_m + half * t))


# ---------------------------------------------------------------------------
# The road


@dataclass(frozen=True)
class RoadSpec:
    """What the generator draws from; lengths [m], radii [m]."""

    route_length_m: float = 300.0  # start line to finish line along the ego lane
    lane_width_m: float = 3.5
    lead_in_m: float = 15.0  # straight road behind the start
    tail_m: float = 30.0  # road beyond the finish
    min_radius_m: float = 30.0
    max_radius_m: float = 120.0
    intersections: tuple[int, int] = (0, 2)  # inclusive range of crossing roads
    blocked: tuple[int, int] = (1, 2)  # obstacles or broken-down cars in the ego lane
    parked: tuple[int, int] = (2, 8)  # parked cars on the shoulders
    min_block_gap_m: float = 80.0  # between two blocked stretches of the ego lane


@dataclass
class Route:
    """The ego lane's centreline, sampled every ``SAMPLE_M``: arc length, points, heading,
    curvature (left turns positive). Lateral offsets are positive to the left."""

    s_m: np.ndarray
    xy_m: np.ndarray
    heading_rad: np.ndarray
    curvature_1_m: np.ndarray
    lane_width_m: float
    start_s_m: float
    goal_s_m: float

    def project(self, x: float, y: float, hint: int, window: int = 40) -> tuple[int, float, float, float]:
        """(index, s [m], lateral offset [m], route heading [rad]) of a point, searching
        ``window`` samples around ``hint`` (the car moves < 1 sample per step, so the
        search is O(1) rather than over the whole route)."""
        lo = max(hint - window, 0)
        hi = min(hint + window + 1, len(self.s_m))
        d = self.xy_m[lo:hi] - (x, y)
        i = lo + int(np.argmin(np.einsum("ij,ij->i", d, d)))
        th = self.heading_rad[i]
        c, s = math.cos(th), math.sin(th)
        dx, dy = x - self.xy_m[i, 0], y - self.xy_m[i, 1]
        along = c * dx + s * dy
        return i, float(self.s_m[i] + along), -s * dx + c * dy, float(th + self.curvature_1_m[i] * along)

    def curvature_at(self, s_m: np.ndarray | float) -> np.ndarray:
        """Curvature [1/m] at arc lengths (clamped to the route's ends)."""
        idx = np.clip(np.rint(np.asarray(s_m) / SAMPLE_M).astype(int), 0, len(self.s_m) - 1)
        return self.curvature_1_m[idx]

    def points(self, s_m: np.ndarray, offset_m: float = 0.0) -> np.ndarray:
        """World (x, y) rows of the points ``offset_m`` left of the route at stations ``s_m``."""
        i = np.clip(np.rint(s_m / SAMPLE_M).astype(int), 0, len(self.s_m) - 1)
        th, along = self.heading_rad[i], s_m - self.s_m[i]
        c, s = np.cos(th), np.sin(th)
        return self.xy_m[i] + np.stack([along * c - offset_m * s, along * s + offset_m * c], axis=1)

    def point(self, s_m: float, offset_m: float = 0.0) -> tuple[float, float, float]:
        """World (x, y) and heading of the lane point ``offset_m`` left of the route at ``s_m``."""
        i = int(np.clip(round(s_m / SAMPLE_M), 0, len(self.s_m) - 1))
        th = float(self.heading_rad[i])
        along = s_m - self.s_m[i]
        x = self.xy_m[i, 0] + along * math.cos(th) - offset_m * math.sin(th)
        y = self.xy_m[i, 1] + along * math.sin(th) + offset_m * math.cos(th)
        return float(x), float(y), th


@dataclass(frozen=True)
class Placed:
    """A static box on the road: where (route station, lateral offset) and what."""

    name: str
    kind: str  # semantic class: OBSTACLE or CAR
    s_m: float
    offset_m: float  # left of the ego lane centre [m]
    half_size_m: tuple[float, float, float]
    yaw_offset_rad: float  # relative to the road heading
    blocks_ego_lane: bool


@dataclass
class RoadWorld:
    """A generated road: the route, the crossings and the static boxes on it."""

    route: Route
    crossings_s_m: list[float]
    placed: list[Placed]

    def footprints(self) -> np.ndarray:
        """One row (x, y, cos yaw, sin yaw, half length, half width) [m] per static box:
        what a 2D overlap test needs."""
        rows = []
        for p in self.placed:
            x, y, th = self.route.point(p.s_m, p.offset_m)
            yaw = th + p.yaw_offset_rad
            rows.append((x, y, math.cos(yaw), math.sin(yaw), p.half_size_m[0], p.half_size_m[1]))
        return np.array(rows, dtype=float).reshape(-1, 6)

    @property
    def blocks(self) -> list[Placed]:
        """Obstacles in the ego lane, by station: the stretches the ego must pass on the left."""
        return sorted((p for p in self.placed if p.blocks_ego_lane), key=lambda p: p.s_m)


def generate_road(rng: np.random.Generator, spec: RoadSpec) -> RoadWorld:
    """Draw a road layout: segments, then crossings, blocked stretches and parked cars."""
    total = spec.lead_in_m + spec.route_length_m + spec.tail_m
    kappa, crossings = _curvature_profile(rng, spec, total)
    route = _integrate(kappa, spec)
    placed = _place_blocks(rng, spec, route, crossings)
    placed += _place_parked(rng, spec, route, crossings)
    return RoadWorld(route, crossings, placed)


def _curvature_profile(rng: np.random.Generator, spec: RoadSpec, total_m: float) -> tuple[np.ndarray, list[float]]:
    """Road-centre curvature per sample: a random chain of segments, heading kept within
    ±80°, then smoothed over ``RAMP_M`` so curvature (and steering) changes continuously."""
    n = int(math.ceil(total_m / SAMPLE_M)) + 1
    kappa = np.zeros(n)
    crossings: list[float] = []
    n_cross = int(rng.integers(spec.intersections[0], spec.intersections[1] + 1))
    s, heading = spec.lead_in_m + 20.0, 0.0  # a straight start
    end = spec.lead_in_m + spec.route_length_m - 25.0  # and a straight finish
    kinds = ["straight", "curve", "curve", "chicane"] + ["crossing"] * 2
    while s < end:
        kind = str(rng.choice(kinds)) if len(crossings) < n_cross else str(rng.choice(kinds[:4]))
        if kind == "straight":
            s += rng.uniform(15.0, 50.0)
        elif kind == "crossing":
            if s + 50.0 > end:
                s += 10.0
                continue
            crossings.append(s + 25.0)
            s += 50.0
        else:
            pieces = [1] if kind == "curve" else [1, -1]
            sign = 1.0 if rng.random() < 0.5 else -1.0
            radius = rng.uniform(spec.min_radius_m, spec.max_radius_m)
            angle = rng.uniform(math.radians(20), math.radians(70 if kind == "curve" else 35))
            if abs(heading + sign * angle) > HEADING_LIMIT_RAD - 0.15:
                sign = -sign  # turn back towards +x
            for p in pieces:
                length = angle * radius
                i0, i1 = int(s / SAMPLE_M), int(min(s + length, end) / SAMPLE_M)
                kappa[i0:i1] = sign * p / radius
                heading += sign * p * (i1 - i0) * SAMPLE_M / radius
                s += length + (RAMP_M if len(pieces) > 1 else 0.0)
    width = int(RAMP_M / SAMPLE_M)
    kappa = np.convolve(kappa, np.ones(width) / width, mode="same")
    return kappa, sorted(crossings)


def _integrate(kappa: np.ndarray, spec: RoadSpec) -> Route:
    """Centreline from curvature, then the ego lane as the curve offset half a lane to the right."""
    n = len(kappa)
    heading = np.concatenate([[0.0], np.cumsum(kappa[:-1]) * SAMPLE_M])
    mid = heading + 0.5 * kappa * SAMPLE_M  # midpoint rule for the chord direction
    xy = np.zeros((n, 2))
    xy[1:, 0] = np.cumsum(np.cos(mid[:-1])) * SAMPLE_M
    xy[1:, 1] = np.cumsum(np.sin(mid[:-1])) * SAMPLE_M
    off = -spec.lane_width_m / 2  # the ego lane, right of the centre line
    lane = xy + off * np.stack([-np.sin(heading), np.cos(heading)], axis=1)
    stretch = 1.0 - off * kappa  # ds_lane / ds_centre
    s_lane = np.concatenate([[0.0], np.cumsum(0.5 * (stretch[1:] + stretch[:-1])) * SAMPLE_M])
    # resample on a uniform grid so that index = s / SAMPLE_M
    s_grid = np.arange(0.0, s_lane[-1], SAMPLE_M)
    lane_xy = np.stack([np.interp(s_grid, s_lane, lane[:, 0]), np.interp(s_grid, s_lane, lane[:, 1])], axis=1)
    lane_heading = np.interp(s_grid, s_lane, heading)
    lane_kappa = np.interp(s_grid, s_lane, kappa / stretch)
    start = spec.lead_in_m
    return Route(s_grid, lane_xy, lane_heading, lane_kappa, spec.lane_width_m, start, start + spec.route_length_m)


def _place_blocks(rng: np.random.Generator, spec: RoadSpec, route: Route, crossings: list[float]) -> list[Placed]:
    """Obstacles and broken-down cars in the ego lane, far enough apart that the ego can
    return to its lane between them, and never inside a crossing."""
    n = int(rng.integers(spec.blocked[0], spec.blocked[1] + 1))
    lo, hi = route.start_s_m + 60.0, route.goal_s_m - 50.0
    if hi <= lo:
        return []  # too short a route to pass anything
    stations: list[float] = []
    for _ in range(50 * max(n, 1)):
        if len(stations) == n:
            break
        s = float(rng.uniform(lo, hi))
        if all(abs(s - t) >= spec.min_block_gap_m for t in stations) and all(abs(s - c) > 25.0 for c in crossings):
            stations.append(s)
    placed = []
    for k, s in enumerate(sorted(stations)):
        if rng.random() < 0.5:
            half = (float(rng.uniform(0.3, 1.0)), float(rng.uniform(0.5, 1.0)), float(rng.uniform(0.4, 0.6)))
            placed.append(Placed(f"obstacle_{k}", OBSTACLE, s, float(rng.uniform(-0.4, 0.4)), half, float(rng.uniform(-0.5, 0.5)), True))
        else:
            placed.append(Placed(f"stalled_car_{k}", CAR, s, float(rng.uniform(-0.2, 0.3)), (2.2, 0.9, 0.75), float(rng.uniform(-0.1, 0.1)), True))
    return placed


def _place_parked(rng: np.random.Generator, spec: RoadSpec, route: Route, crossings: list[float]) -> list[Placed]:
    """Parked cars beside the road, 0.5 m clear of the edge line, away from crossings and
    from each other, and clear of every other part of the road where it bends back."""
    n = int(rng.integers(spec.parked[0], spec.parked[1] + 1))
    w = spec.lane_width_m
    centre = route.xy_m + (w / 2) * np.stack([-np.sin(route.heading_rad), np.cos(route.heading_rad)], axis=1)
    clearance = w + 0.5 + 0.9  # road half width + gap + car half width [m]
    placed: list[Placed] = []
    for _ in range(30 * max(n, 1)):
        if len(placed) == n:
            break
        s = float(rng.uniform(route.start_s_m, route.goal_s_m + 10.0))
        left = bool(rng.random() < 0.5)
        offset = w / 2 + clearance if left else w / 2 - clearance
        if any(abs(s - c) < 15.0 for c in crossings) or any(abs(s - p.s_m) < 6.0 and (p.offset_m > 0) == left for p in placed):
            continue
        x, y, _ = route.point(s, offset)
        if np.min(np.hypot(centre[:, 0] - x, centre[:, 1] - y)) < clearance - 0.05:
            continue  # the road bends back towards this spot
        placed.append(Placed(f"parked_car_{len(placed)}", CAR, s, offset, (2.2, 0.9, 0.75), float(rng.uniform(-0.05, 0.05)), False))
    return placed


# ---------------------------------------------------------------------------
# Scene


def road_scene(world: RoadWorld, timestep_s: float, name: str = "road") -> Scene:
    """Ground plane, visual road and markings, and static boxes; the caller adds cars."""
    # elliptic cones: a tyre spinning or locked while it also slips sideways keeps the same grip in
    # every direction on both engines (MuJoCo's pyramid halves it at 45°, and a symmetric car
    # under full throttle on a wet road spun out on it alone)
    scene = Scene(name=name, timestep_s=timestep_s, friction_cone="elliptic")
    scene.add(Body("ground", geoms=[Geom("ground_plane", "plane", (0.0, 0.0), friction=0.9, rgba=GRASS)], semantic_class=TERRAIN))
    breaks = _tile_breaks(world)
    scene.add(_surface(world, breaks))
    scene.add(_markings(world, breaks))
    for p in world.placed:
        scene.add(_static_box(world.route, p))
    return scene


def _tiles(prefix: str, a: np.ndarray, b: np.ndarray, half_width_m: float, z: float, rgba, overlap_m: float = 0.05) -> list[Geom]:
    """Visual-only boxes from points ``a[k]`` to ``b[k]`` (N, 2): straight pieces of a curve."""
    mid, d = 0.5 * (a + b), b - a
    half_len = 0.5 * np.hypot(d[:, 0], d[:, 1]) + overlap_m
    yaw = np.arctan2(d[:, 1], d[:, 0])
    cw, sw = np.cos(yaw / 2), np.sin(yaw / 2)
    return [
        Geom(f"{prefix}_{k}", "box", (float(half_len[k]), half_width_m, 0.002), pos=(float(mid[k, 0]), float(mid[k, 1]), z),
             quat=(float(cw[k]), 0.0, 0.0, float(sw[k])), rgba=rgba, collide=False)
        for k in range(len(a))
    ]


def _tile_breaks(world: RoadWorld) -> np.ndarray:
    """Stations where tiles begin and end: up to ``MAX_TILE_M`` on straights, shorter in
    curves so that no straight tile strays more than ``SAGITTA_M`` from the curve, and a
    break at each edge of every crossing road (where the edge lines stop)."""
    route = world.route
    kabs, end, step = np.abs(route.curvature_1_m), float(route.s_m[-1]), int(MAX_TILE_M / SAMPLE_M)
    breaks = [0.0]
    while breaks[-1] < end - 1e-6:
        i0 = int(round(breaks[-1] / SAMPLE_M))
        seg = np.maximum.accumulate(kabs[i0 : i0 + step + 1])
        length = np.arange(len(seg)) * SAMPLE_M
        fits = length**2 * seg / 8 <= SAGITTA_M
        n = int(np.argmin(fits)) - 1 if not fits.all() else len(seg) - 1
        breaks.append(min(breaks[-1] + max(length[max(n, 1)], 1.0), end))
    gaps = [c + g for c in world.crossings_s_m for g in (-world.route.lane_width_m - 0.5, world.route.lane_width_m + 0.5)]
    return np.unique(np.clip(np.concatenate([breaks, gaps]), 0.0, end))


def _surface(world: RoadWorld, s: np.ndarray) -> Body:
    """Asphalt tiles between the stations ``s``, and across the road at each crossing (visual only)."""
    route, w = world.route, world.route.lane_width_m
    body = Body("road", semantic_class=ROAD)
    body.geoms = _tiles("road_tile", route.points(s[:-1], w / 2), route.points(s[1:], w / 2), w + 0.3, 0.002, GREY, overlap_m=0.15)
    for c, s_c in enumerate(world.crossings_s_m):
        x, y, th = route.point(s_c, w / 2)
        across = np.array([[-math.sin(th), math.cos(th)]]) * 30.0
        body.geoms += _tiles(f"crossing_{c}", np.array([[x, y]]) - across, np.array([[x, y]]) + across, w, 0.0021, GREY, 0.0)
    return body


def _markings(world: RoadWorld, s: np.ndarray) -> Body:
    """Solid edge lines between the stations ``s`` (broken at crossings) and dashed centre lines (visual only)."""
    route, w = world.route, world.route.lane_width_m
    body = Body("lane_markings", semantic_class=MARKING)
    mid = 0.5 * (s[:-1] + s[1:])
    keep = np.ones(len(mid), bool)
    for c in world.crossings_s_m:
        keep &= np.abs(mid - c) > w + 0.5
    a, b = s[:-1][keep], s[1:][keep]
    for side, off in (("r", -w / 2), ("l", 1.5 * w)):
        body.geoms += _tiles(f"edge_{side}", route.points(a, off), route.points(b, off), LINE_W_M / 2, 0.005, WHITE)
    dash = np.arange(0.0, route.s_m[-1] - DASH_M, DASH_M + GAP_M)
    for c in world.crossings_s_m:
        dash = dash[np.abs(dash + DASH_M / 2 - c) > w + DASH_M / 2]
    body.geoms += _tiles("centre_dash", route.points(dash, w / 2), route.points(dash + DASH_M, w / 2), LINE_W_M / 2, 0.005, WHITE, 0.0)
    for c, s_c in enumerate(world.crossings_s_m):  # the crossing road's own centre line
        x, y, th = route.point(s_c, w / 2)
        t = np.concatenate([np.arange(w + 1.0, 27.0, DASH_M + GAP_M), -np.arange(w + 1.0 + DASH_M, 30.0, DASH_M + GAP_M)])
        across = np.array([-math.sin(th), math.cos(th)])
        a = np.array([x, y]) + t[:, None] * across
        body.geoms += _tiles(f"crossing_{c}_dash", a, a + DASH_M * across, LINE_W_M / 2, 0.005, WHITE, 0.0)
    return body


TRAFFIC_HALF_M = (2.2, 0.9, 0.75)  # a car-sized box
TRAFFIC_MASS_KG = 1500.0


def traffic_plan(rng: np.random.Generator, n: int, route: Route) -> list[tuple[str, float, float]]:
    """(body name, station at t = 0 [m], speed [m/s]) per oncoming car, spread along the route."""
    stations = np.sort(rng.uniform(route.start_s_m + 60.0, route.goal_s_m, n)) if n else []
    return [(f"traffic_{k}", float(s), float(rng.uniform(8.0, 12.0))) for k, s in enumerate(stations)]


def traffic_state(route: Route, s0_m: float, speed_m_s: float, t_s: float) -> tuple[tuple, tuple, tuple]:
    """Pose and velocity of an oncoming car at time ``t_s``: on the left lane centre, heading
    against the route; past the start of the road it drives on straight."""
    x, y, th = route.point(s0_m - speed_m_s * t_s, route.lane_width_m)
    quat = quat_from_axis_angle((0, 0, 1), th + math.pi)
    return (x, y, TRAFFIC_HALF_M[2] + 0.05), quat, (-speed_m_s * math.cos(th), -speed_m_s * math.sin(th), 0.0)


def traffic_car(name: str) -> Body:
    """A free car-sized box; the task moves it along the left lane, so it only needs to collide."""
    return Body(name, pos=(-100.0, 0.0, 1.0), joint=Joint(f"{name}_free", "free"),
                geoms=[Geom(f"{name}_box", "box", TRAFFIC_HALF_M, rgba=(0.9, 0.85, 0.2, 1.0))],
                inertial=Inertial(TRAFFIC_MASS_KG, (500.0, 2300.0, 2500.0)), semantic_class=CAR)


def traffic_footprints(route: Route, plan: list[tuple[str, float, float]], t_s: float) -> np.ndarray:
    """Footprint rows (see :meth:`RoadWorld.footprints`) of the oncoming cars at ``t_s``."""
    rows = []
    for _, s0, speed in plan:
        x, y, th = route.point(s0 - speed * t_s, route.lane_width_m)
        rows.append((x, y, -math.cos(th), -math.sin(th), TRAFFIC_HALF_M[0], TRAFFIC_HALF_M[1]))
    return np.array(rows, dtype=float).reshape(-1, 6)


def _static_box(route: Route, p: Placed) -> Body:
    """A jointless (static) body standing on the ground at its route station."""
    x, y, th = route.point(p.s_m, p.offset_m)
    rgba = (0.95, 0.5, 0.05, 1.0) if p.kind == OBSTACLE else (0.2, 0.35, 0.7, 1.0)
    return Body(
        p.name,
        pos=(x, y, p.half_size_m[2]),
        quat=quat_from_axis_angle((0, 0, 1), th + p.yaw_offset_rad),
        geoms=[Geom(f"{p.name}_box", "box", p.half_size_m, rgba=rgba)],
        semantic_class=p.kind,
    )


# ---------------------------------------------------------------------------
# Cheap 2D pre-tests (exact or conservative), so that engine queries run only when needed


def rays_near_circles(origins: np.ndarray, dirs: np.ndarray, centres: np.ndarray, radii: np.ndarray, length_m: float) -> np.ndarray:
    """Which 2D rays (unit ``dirs``, ``length_m`` long) pass within ``radii`` of ``centres``."""
    rel = centres[None, :, :] - origins[:, None, :]  # (rays, circles, 2)
    along = np.clip(np.einsum("rcd,rd->rc", rel, dirs), 0.0, length_m)
    gap = rel - along[:, :, None] * dirs[:, None, :]
    return (np.einsum("rcd,rcd->rc", gap, gap) <= radii[None, :] ** 2).any(axis=1)


def footprints_overlap(boxes: np.ndarray, x: float, y: float, c: float, s: float, half: tuple[float, float]) -> bool:
    """Separating-axis test of the ego's footprint against rows (x, y, cos, sin, hx, hy)."""
    d = boxes[:, :2] - (x, y)
    near = np.einsum("ij,ij->i", d, d) < (half[0] + half[1] + boxes[:, 4] + boxes[:, 5]) ** 2  # bounding circles
    if not near.any():
        return False
    d, boxes = d[near], boxes[near]
    bc, bs, bhx, bhy = boxes[:, 2], boxes[:, 3], boxes[:, 4], boxes[:, 5]
    dot = bc * c + bs * s  # cos of the yaw difference
    crs = bs * c - bc * s  # sin of the yaw difference
    overlap = np.abs(d[:, 0] * c + d[:, 1] * s) <= half[0] + bhx * np.abs(dot) + bhy * np.abs(crs)
    overlap &= np.abs(-d[:, 0] * s + d[:, 1] * c) <= half[1] + bhx * np.abs(crs) + bhy * np.abs(dot)
    overlap &= np.abs(d[:, 0] * bc + d[:, 1] * bs) <= bhx + half[0] * np.abs(dot) + half[1] * np.abs(crs)
    overlap &= np.abs(-d[:, 0] * bs + d[:, 1] * bc) <= bhy + half[0] * np.abs(crs) + half[1] * np.abs(dot)
    return bool(overlap.any())
