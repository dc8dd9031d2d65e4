"""Procedural indoor floor plans and a TurtleBot3-Burger-class robot, as neutral scenes.

A plan is drawn from the env's RNG by binary space partitioning: the outer rectangle is
split by walls (sometimes by a corridor between two parallel walls) into rooms; every
split wall has one door, a gap in the wall; rooms get furniture (boxes, cylinders).
Walls are axis-aligned boxes that overlap at corners and T-junctions instead of meeting
edge to edge (PyBullet rounds box edges by a few millimetres, so edge-to-edge joints
leave slits for rays).

The plan keeps an occupancy grid as a clipped signed distance field (metres from each
cell centre to the nearest obstacle, negative inside and outside the plan). Its
guarantees, checked as the plan is drawn:
- the cells whose clearance is at least ``clearance_m`` form one 4-connected region, so a
  robot with that turning radius (less the half cell the field may lack between cell
  centres) can get from any such cell to any other: a door is never blocked by a later
  wall, and furniture that would cut a region off is not placed;
- start and goal (:func:`sample_start_goal`) lie in that region, a given geodesic
  distance apart, so a free path for the robot's footprint exists.

Semantic classes: "floor", "wall", "door" (a visual-only lintel over each gap, for the
renderer's segmentation: physics and rays see the gap), "furniture", "robot".
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from scipy import ndimage
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra

from simsuite.scene import Actuator, Body, Geom, Inertial, Joint, Light, Scene, Site
from simsuite.transforms import quat_from_axis_angle

FLOOR, WALL, DOOR, FURNITURE, ROBOT = "floor", "wall", "door", "furniture", "robot"
_SDF_CAP_M = 0.6  # the distance field is exact up to this distance [m]
_WHEEL_QUAT = quat_from_axis_angle((1.0, 0.0, 0.0), -math.pi / 2)  # cylinder z axis -> body y


# ---------------------------------------------------------------------------
# The robot


@dataclass(frozen=True)
class BurgerSpec:
    """TurtleBot3 Burger class (REFERENCE.md; ROBOTIS URDF): 138 x 178 x 192 mm, ~1 kg."""

    wheel_radius_m: float = 0.033
    wheel_separation_m: float = 0.160
    wheel_width_m: float = 0.018
    max_speed_m_s: float = 0.22
    max_yaw_rate_rad_s: float = 2.84
    chassis_half_m: tuple[float, float, float] = (0.070, 0.070, 0.0715)  # box half extents [m]
    chassis_offset_m: tuple[float, float, float] = (-0.032, 0.0, 0.080)  # from the axle midpoint on the floor
    chassis_mass_kg: float = 0.84
    wheel_mass_kg: float = 0.05
    # The gearbox-reflected rotor inertia of the Dynamixel wheel motor is lumped into the
    # wheel's spin inertia (PyBullet ignores Joint.armature); the other two axes keep the
    # triangle inequality that both engines require.
    wheel_inertia_kg_m2: tuple[float, float, float] = (5e-4, 1e-3, 5e-4)
    caster_radius_m: float = 0.008
    caster_x_m: float = -0.081
    caster_mass_kg: float = 0.01
    lidar_offset_m: tuple[float, float, float] = (-0.032, 0.0, 0.176)  # LDS head centre
    motor_kv: float = 0.05  # velocity servo gain [N·m·s/rad]
    motor_torque_nm: float = 0.15  # torque limit per wheel [N·m]
    tire_friction: float = 1.0  # contact friction is the product with the floor's
    caster_friction: float = 0.0  # product rule: 0 here means a frictionless caster

    @property
    def max_wheel_speed_rad_s(self) -> float:
        """Enough for full speed, or for full yaw rate turning in place."""
        rim = max(self.max_speed_m_s, self.max_yaw_rate_rad_s * self.wheel_separation_m / 2)
        return rim / self.wheel_radius_m

    @property
    def footprint_m(self) -> tuple[float, float, float]:
        """(rear x, front x, half width) of the footprint about the axle midpoint [m]."""
        cx, hx = self.chassis_offset_m[0], self.chassis_half_m[0]
        half_width = max(self.chassis_half_m[1], self.wheel_separation_m / 2 + self.wheel_width_m / 2)
        return cx - hx, max(cx + hx, self.wheel_radius_m), half_width

    @property
    def turning_radius_m(self) -> float:
        """Radius of the circle the footprint sweeps when the robot turns in place [m]."""
        rear, front, half_width = self.footprint_m
        return math.hypot(max(-rear, front), half_width)


def make_robot(spec: BurgerSpec = BurgerSpec(), name: str = "robot") -> tuple[Body, list[Actuator]]:
    """A differential-drive base: chassis on a free joint (frame at the axle midpoint on the
    floor, x forward), two wheels on hinges with torque-limited velocity servos, a ball caster
    welded on as its own body (so PyBullet, which keeps one friction per body, gives it 0)."""
    r = spec.wheel_radius_m
    chassis = Body(
        name,
        joint=Joint(f"{name}_free", "free"),
        geoms=[
            Geom(f"{name}_chassis", "box", spec.chassis_half_m, pos=spec.chassis_offset_m, rgba=(0.25, 0.25, 0.28, 1.0)),
            Geom(f"{name}_lidar_head", "cylinder", (0.035, 0.016), pos=spec.lidar_offset_m, rgba=(0.1, 0.1, 0.1, 1.0),
                 collide=False),  # visual only: the ray ring starts inside it
        ],
        sites=[Site(f"{name}_lidar", pos=spec.lidar_offset_m)],
        inertial=_box_inertial(spec.chassis_mass_kg, spec.chassis_half_m, spec.chassis_offset_m),
        semantic_class=ROBOT,
    )
    actuators = []
    for side, sign in (("left", 1.0), ("right", -1.0)):
        wheel = f"{name}_wheel_{side}"
        chassis.add(
            Body(
                wheel,
                pos=(0.0, sign * spec.wheel_separation_m / 2, r),
                joint=Joint(f"{wheel}_joint", "hinge", axis=(0.0, 1.0, 0.0)),
                geoms=[Geom(f"{wheel}_tire", "cylinder", (r, spec.wheel_width_m / 2), quat=_WHEEL_QUAT,
                            friction=spec.tire_friction, rgba=(0.1, 0.1, 0.1, 1.0))],
                inertial=Inertial(spec.wheel_mass_kg, spec.wheel_inertia_kg_m2),
                semantic_class=ROBOT,
            )
        )
        limit = spec.max_wheel_speed_rad_s
        actuators.append(Actuator(f"{wheel}_motor", f"{wheel}_joint", "velocity", kv=spec.motor_kv,
                                  ctrl_range=(-limit, limit), force_range=(-spec.motor_torque_nm, spec.motor_torque_nm)))
    rc = spec.caster_radius_m
    chassis.add(
        Body(
            f"{name}_caster",
            pos=(spec.caster_x_m, 0.0, rc),
            geoms=[Geom(f"{name}_caster_ball", "sphere", (rc,), friction=spec.caster_friction)],
            inertial=Inertial(spec.caster_mass_kg, (0.4 * spec.caster_mass_kg * rc * rc,) * 3),
            semantic_class=ROBOT,
        )
    )
    return chassis, actuators


def _box_inertial(mass_kg: float, half: tuple[float, float, float], pos: tuple[float, float, float]) -> Inertial:
    a, b, c = (2 * h for h in half)
    diag = (mass_kg * (b * b + c * c) / 12, mass_kg * (a * a + c * c) / 12, mass_kg * (a * a + b * b) / 12)
    return Inertial(mass_kg, diag, pos=pos)


# ---------------------------------------------------------------------------
# Floor plans


@dataclass(frozen=True)
class PlanConfig:
    size_m: tuple[float, float] = (5.0, 8.0)  # side lengths of the outer rectangle, each ~U [m]
    min_room_m: float = 1.8  # no room side shorter than this [m]
    leaf_prob: float = 0.25  # chance a room big enough to split stays whole
    corridor_prob: float = 0.5  # chance the first split is a corridor
    corridor_width_m: tuple[float, float] = (1.1, 1.5)  # [m]
    door_width_m: tuple[float, float] = (0.8, 1.0)  # gap width [m]
    door_margin_m: float = 0.35  # no wall may meet a wall closer than this to a door [m]
    furniture_per_room: tuple[int, int] = (0, 3)  # inclusive range
    wall_thickness_m: float = 0.10
    wall_height_m: float = 1.0
    door_height_m: float = 0.8
    clearance_m: float = 0.22  # the free region keeps this distance from obstacles [m]
    cell_m: float = 0.1  # occupancy grid resolution [m]


@dataclass(frozen=True)
class Box2:
    """A vertical prism: box footprint (centre, half extents, yaw) or a cylinder (radius)."""

    x: float
    y: float
    half: tuple[float, float]  # box half extents [m]; cylinders use half[0] as radius
    height_m: float
    yaw_rad: float = 0.0
    cylinder: bool = False

    def sdf(self, px: np.ndarray, py: np.ndarray) -> np.ndarray:
        """Signed distance [m] from points to the footprint (negative inside)."""
        dx, dy = px - self.x, py - self.y
        if self.cylinder:
            return np.hypot(dx, dy) - self.half[0]
        c, s = math.cos(self.yaw_rad), math.sin(self.yaw_rad)
        qx = np.abs(c * dx + s * dy) - self.half[0]
        qy = np.abs(-s * dx + c * dy) - self.half[1]
        return np.hypot(np.maximum(qx, 0.0), np.maximum(qy, 0.0)) + np.minimum(np.maximum(qx, qy), 0.0)


@dataclass
class OccupancyGrid:
    """Distance field on cell centres; row i is y, column j is x."""

    origin: tuple[float, float]  # world position of cell (0, 0)'s lower-left corner [m]
    cell_m: float
    sdf: np.ndarray  # (ny, nx) float64 [m], clipped to _SDF_CAP_M

    def centres(self, rows: slice = slice(None), cols: slice = slice(None)) -> tuple[np.ndarray, np.ndarray]:
        ny, nx = self.sdf.shape
        ys = self.origin[1] + (np.arange(ny)[rows] + 0.5) * self.cell_m
        xs = self.origin[0] + (np.arange(nx)[cols] + 0.5) * self.cell_m
        return np.meshgrid(xs, ys)

    def cell(self, x: float, y: float) -> tuple[int, int]:
        """(row, column) of the cell holding a world point, clamped to the grid."""
        ny, nx = self.sdf.shape
        j = int((x - self.origin[0]) / self.cell_m)
        i = int((y - self.origin[1]) / self.cell_m)
        return min(max(i, 0), ny - 1), min(max(j, 0), nx - 1)

    def point(self, i: int, j: int) -> tuple[float, float]:
        return self.origin[0] + (j + 0.5) * self.cell_m, self.origin[1] + (i + 0.5) * self.cell_m

    def add(self, shape: Box2) -> tuple[slice, slice]:
        """Merge a shape into the field; returns the window (rows, cols) it changed."""
        ex, ey = (e + _SDF_CAP_M for e in _extent(shape))
        rows, cols = self._window(shape.x - ex, shape.y - ey, shape.x + ex, shape.y + ey)
        xs, ys = self.centres(rows, cols)
        np.minimum(self.sdf[rows, cols], shape.sdf(xs, ys), out=self.sdf[rows, cols])
        return rows, cols

    def _window(self, x0: float, y0: float, x1: float, y1: float) -> tuple[slice, slice]:
        i0, j0 = self.cell(x0, y0)
        i1, j1 = self.cell(x1, y1)
        return slice(i0, i1 + 1), slice(j0, j1 + 1)


@dataclass
class FloorPlan:
    width_m: float
    height_m: float
    walls: list[Box2] = field(default_factory=list)
    doors: list[Box2] = field(default_factory=list)  # the gaps (footprint of the opening)
    furniture: list[Box2] = field(default_factory=list)
    rooms: list[tuple[float, float, float, float]] = field(default_factory=list)  # x0, y0, x1, y1 of furnished rooms
    corridors: list[tuple[float, float, float, float]] = field(default_factory=list)  # x0, y0, x1, y1
    grid: OccupancyGrid | None = None
    config: PlanConfig = field(default_factory=PlanConfig)

    def free_region(self, clearance_m: float) -> np.ndarray:
        """Cells at least ``clearance_m`` from obstacles, in the largest connected region."""
        labels, n = ndimage.label(self.grid.sdf >= clearance_m)  # 4-connected
        if n == 0:
            return np.zeros_like(labels, dtype=bool)
        sizes = np.bincount(labels.ravel())
        sizes[0] = 0
        return labels == int(np.argmax(sizes))


def generate_plan(rng: np.random.Generator, config: PlanConfig = PlanConfig()) -> FloorPlan:
    """Draw a floor plan: outer walls, BSP rooms and corridors with doors, then furniture."""
    width, height = (float(rng.uniform(*config.size_m)) for _ in range(2))
    plan = FloorPlan(width, height, config=config)
    margin = 2 * config.cell_m
    nx, ny = (int(math.ceil((side + 2 * margin) / config.cell_m)) for side in (width, height))
    plan.grid = OccupancyGrid((-margin, -margin), config.cell_m, np.full((ny, nx), _SDF_CAP_M))
    xs, ys = plan.grid.centres()
    outside = (xs < 0) | (xs > width) | (ys < 0) | (ys > height)
    plan.grid.sdf[outside] = -_SDF_CAP_M
    doors: list[tuple[str, float, float, float]] = []  # (wall axis, wall coordinate, lo, hi)
    for axis, coord in (("x", 0.0), ("x", height), ("y", 0.0), ("y", width)):  # the outer walls
        _add_wall(plan, axis, coord, 0.0, width if axis == "x" else height, None)
    _split(plan, (0.0, 0.0, width, height), 0, rng, doors)
    region = plan.free_region(config.clearance_m)
    for room in plan.rooms:
        for _ in range(int(rng.integers(config.furniture_per_room[0], config.furniture_per_room[1] + 1))):
            region = _place_furniture(plan, room, rng, region)
    return plan


def _split(plan: FloorPlan, rect: tuple[float, float, float, float], depth: int, rng: np.random.Generator, doors: list) -> None:
    """Split ``rect`` by a wall (or a corridor) with a door, and recurse; leaves are rooms.
    A wall's axis is the direction it runs: "x" is a horizontal wall at y = coordinate."""
    cfg = plan.config
    x0, y0, x1, y1 = rect
    w, h = x1 - x0, y1 - y0
    splittable = [a for a, side in (("y", w), ("x", h)) if side >= 2 * cfg.min_room_m]  # axis of the new wall
    if not splittable or (depth > 0 and rng.random() < cfg.leaf_prob):
        plan.rooms.append(rect)
        return
    axis = splittable[0] if len(splittable) == 1 else ("y" if rng.random() < w / (w + h) else "x")
    lo, hi = (x0, x1) if axis == "y" else (y0, y1)  # the split coordinate range
    ends = (y0, y1) if axis == "y" else (x0, x1)  # the new wall runs between these
    corridor = 0.0
    if depth == 0 and rng.random() < cfg.corridor_prob:
        corridor = float(rng.uniform(*cfg.corridor_width_m))
        if hi - lo < 2 * cfg.min_room_m + corridor:
            corridor = 0.0
    for _ in range(20):
        c = float(rng.uniform(lo + cfg.min_room_m, hi - cfg.min_room_m - corridor))
        positions = (c, c + corridor) if corridor else (c,)
        if all(_clear_of_doors(doors, axis, pos, ends, cfg.door_margin_m + cfg.wall_thickness_m / 2) for pos in positions):
            break
    else:
        plan.rooms.append(rect)
        return
    for pos in positions:
        door = _draw_door(rng, cfg, ends)
        doors.append((axis, pos, *door))
        _add_wall(plan, axis, pos, ends[0], ends[1], door)
    if axis == "y":
        parts = [(x0, y0, c, y1), (c + corridor, y0, x1, y1)]
        strip = (c, y0, c + corridor, y1)
    else:
        parts = [(x0, y0, x1, c), (x0, c + corridor, x1, y1)]
        strip = (x0, c, x1, c + corridor)
    if corridor:
        plan.corridors.append(strip)
    for part in parts:
        _split(plan, part, depth + 1, rng, doors)


def _clear_of_doors(doors: list, axis: str, pos: float, ends: tuple[float, float], margin: float) -> bool:
    """A new wall at ``pos`` meets the perpendicular walls at ``ends``: keep it off their doors."""
    for door_axis, coord, lo, hi in doors:
        if door_axis != axis and min(abs(coord - e) for e in ends) < 1e-9 and lo - margin < pos < hi + margin:
            return False
    return True


def _draw_door(rng: np.random.Generator, cfg: PlanConfig, ends: tuple[float, float]) -> tuple[float, float]:
    """A gap (lo, hi) along a wall spanning ``ends``, clear of the walls at both ends."""
    width = float(rng.uniform(*cfg.door_width_m))
    inset = cfg.wall_thickness_m / 2 + cfg.door_margin_m
    centre = float(rng.uniform(ends[0] + inset + width / 2, ends[1] - inset - width / 2))
    return centre - width / 2, centre + width / 2


def _add_wall(plan: FloorPlan, axis: str, coord: float, lo: float, hi: float, door: tuple[float, float] | None) -> None:
    """A wall along ``axis`` ("x": horizontal at y = coord) from lo to hi, ends extended by
    half a thickness so that walls overlap at corners; a door splits it in two."""
    cfg = plan.config
    t = cfg.wall_thickness_m
    pieces = [(lo - t / 2, hi + t / 2)] if door is None else [(lo - t / 2, door[0]), (door[1], hi + t / 2)]
    for a, b in pieces:
        mid, half = (a + b) / 2, (b - a) / 2
        x, y, hx, hy = (mid, coord, half, t / 2) if axis == "x" else (coord, mid, t / 2, half)
        wall = Box2(x, y, (hx, hy), cfg.wall_height_m)
        plan.walls.append(wall)
        plan.grid.add(wall)
    if door is not None:
        mid, half = (door[0] + door[1]) / 2, (door[1] - door[0]) / 2
        x, y, hx, hy = (mid, coord, half, t / 2) if axis == "x" else (coord, mid, t / 2, half)
        plan.doors.append(Box2(x, y, (hx, hy), cfg.wall_height_m))


def _place_furniture(
    plan: FloorPlan, room: tuple[float, float, float, float], rng: np.random.Generator, region: np.ndarray, tries: int = 10
) -> np.ndarray:
    """A box (cabinet, sofa, table) or cylinder (pot, round table), against a wall or free
    standing; skipped if it overlaps anything, sits in a doorway or cuts the free region.
    Returns the free region afterwards."""
    cfg = plan.config
    t2 = cfg.wall_thickness_m / 2
    x0, y0, x1, y1 = room[0] + t2, room[1] + t2, room[2] - t2, room[3] - t2
    for _ in range(tries):
        height = float(rng.uniform(0.4, 0.9))
        if rng.random() < 0.3:
            r = float(rng.uniform(0.12, 0.3))
            shape = Box2(0.0, 0.0, (r, r), height, cylinder=True)
        else:
            yaw = float(rng.uniform(-math.pi, math.pi)) if rng.random() < 0.25 else float(rng.integers(2)) * math.pi / 2
            shape = Box2(0.0, 0.0, (float(rng.uniform(0.2, 0.5)), float(rng.uniform(0.15, 0.35))), height, yaw)
        ex, ey = _extent(shape)
        if x1 - x0 < 2 * ex + 0.1 or y1 - y0 < 2 * ey + 0.1:
            continue
        x, y = float(rng.uniform(x0 + ex, x1 - ex)), float(rng.uniform(y0 + ey, y1 - ey))
        if rng.random() < 0.5:  # push it against the nearest wall, 2 cm off
            gaps = {"w": x - ex - x0, "e": x1 - x - ex, "s": y - ey - y0, "n": y1 - y - ey}
            side = min(gaps, key=gaps.get)
            x = {"w": x0 + ex + 0.02, "e": x1 - ex - 0.02}.get(side, x)
            y = {"s": y0 + ey + 0.02, "n": y1 - ey - 0.02}.get(side, y)
        shape = Box2(x, y, shape.half, shape.height_m, shape.yaw_rad, shape.cylinder)
        after = _fits(plan, shape, region)
        if after is not None:
            plan.furniture.append(shape)
            return after
    return region


def _extent(shape: Box2) -> tuple[float, float]:
    """Half extents of the shape's axis-aligned bounding box [m]."""
    if shape.cylinder:
        return shape.half[0], shape.half[0]
    c, s = abs(math.cos(shape.yaw_rad)), abs(math.sin(shape.yaw_rad))
    return c * shape.half[0] + s * shape.half[1], s * shape.half[0] + c * shape.half[1]


def _fits(plan: FloorPlan, shape: Box2, region: np.ndarray) -> np.ndarray | None:
    """Add ``shape`` to the grid if it overlaps nothing, keeps doorways clear and leaves the
    clearance ``region`` connected (returns the new region); otherwise leave the grid
    unchanged and return None."""
    cfg, grid = plan.config, plan.grid
    keep_clear = cfg.wall_thickness_m / 2 + cfg.clearance_m + 0.3  # doorway depth kept free [m]
    for door in plan.doors:
        if shape.sdf(np.array(door.x), np.array(door.y)) < max(door.half) + keep_clear:
            return None
    old = grid.sdf.copy()
    rows, cols = grid.add(shape)
    xs, ys = grid.centres(rows, cols)
    inside = shape.sdf(xs, ys) <= 0
    if np.any(old[rows, cols][inside] <= 0.0):  # overlaps a wall or other furniture
        grid.sdf = old
        return None
    labels, _ = ndimage.label(grid.sdf >= cfg.clearance_m)  # 4-connected
    kept = labels[region & (grid.sdf >= cfg.clearance_m)]
    if kept.size == 0 or np.any(kept != kept[0]):
        grid.sdf = old
        return None
    return labels == kept[0]


# ---------------------------------------------------------------------------
# Start, goal and geodesic distance


@dataclass
class RoadMap:
    """The free region as a graph of cells, for geodesic distances (built once per plan)."""

    mask: np.ndarray  # (ny, nx) bool: cells in the region
    index: np.ndarray  # (ny, nx) int: node number, -1 off the region
    graph: csr_matrix


def road_map(plan: FloorPlan, clearance_m: float, comfort_m: float = 0.0) -> RoadMap:
    """8-connected graph of the clearance region; diagonal moves only where both side cells
    are in the region too (no cutting corners). With ``comfort_m`` an edge costs its length
    times 1 + 3·(comfort − clearance)/comfort where the clearance is below ``comfort_m`` (an
    inflated costmap, as in Nav2): shortest paths keep to the middle of doors and corridors."""
    mask = plan.free_region(clearance_m)
    padded = np.pad(mask, 1).ravel()  # a False border: neighbours never wrap around
    row = mask.shape[1] + 2
    cells = np.flatnonzero(padded)
    node = np.full(padded.size, -1, dtype=np.int64)
    node[cells] = np.arange(len(cells))
    weight = np.ones(padded.size)
    if comfort_m > 0.0:
        sdf = np.pad(plan.grid.sdf, 1).ravel()
        weight = 1.0 + 3.0 * np.clip((comfort_m - sdf) / comfort_m, 0.0, 1.0)
    src, dst, cost = [], [], []
    for di, dj in ((0, 1), (1, 0), (1, 1), (1, -1)):
        ok = padded[cells + di * row + dj]
        if di and dj:
            ok &= padded[cells + di * row] & padded[cells + dj]
        src.append(node[cells[ok]])
        dst.append(node[cells[ok] + di * row + dj])
        a, b = cells[ok], cells[ok] + di * row + dj
        cost.append(plan.grid.cell_m * math.hypot(di, dj) * 0.5 * (weight[a] + weight[b]))
    s, d, c = np.concatenate(src), np.concatenate(dst), np.concatenate(cost)
    graph = csr_matrix((np.r_[c, c], (np.r_[s, d], np.r_[d, s])), shape=(len(cells), len(cells)))
    index = node.reshape(mask.shape[0] + 2, row)[1:-1, 1:-1]
    return RoadMap(mask, index, graph)


def geodesic_field(plan: FloorPlan, roads: RoadMap, goal_xy: tuple[float, float]) -> np.ndarray:
    """Path length [m] from every cell to the goal: exact on the road map, and off it the
    distance to the nearest road-map cell plus that cell's path length (so it is defined
    wherever the robot can be)."""
    i, j = plan.grid.cell(*goal_xy)
    on_map = roads.index[i, j]
    if on_map < 0:
        raise ValueError(f"goal {goal_xy} is not on the road map")
    dist = np.full(roads.mask.shape, np.inf)
    dist[roads.mask] = dijkstra(roads.graph, indices=int(on_map))
    reachable = np.isfinite(dist)
    gap, (ni, nj) = ndimage.distance_transform_edt(~reachable, sampling=plan.grid.cell_m, return_indices=True)
    return dist[ni, nj] + gap


def carrot(plan: FloorPlan, field: np.ndarray, x: float, y: float, lookahead_m: float) -> tuple[tuple[float, float], float]:
    """A point about ``lookahead_m`` down the shortest path from (x, y) and the path length
    there [m]: steepest descent of the geodesic ``field`` over the 8 neighbouring cells (what a
    global planner hands a local controller as its next target)."""
    grid = plan.grid
    i, j = grid.cell(x, y)
    travelled = 0.0
    while travelled < lookahead_m:
        i0, j0 = max(i - 1, 0), max(j - 1, 0)
        window = field[i0:i + 2, j0:j + 2]
        k = int(np.argmin(window))
        ni, nj = i0 + k // window.shape[1], j0 + k % window.shape[1]
        if field[ni, nj] >= field[i, j]:  # at the goal cell
            break
        travelled += grid.cell_m * math.hypot(ni - i, nj - j)
        i, j = ni, nj
    return grid.point(i, j), float(field[i, j])


def sample_start_goal(
    plan: FloorPlan, roads: RoadMap, rng: np.random.Generator, distance_m: tuple[float, float], clearance_m: float
) -> tuple[tuple[float, float, float], tuple[float, float], np.ndarray]:
    """Start pose (x, y, yaw) and goal (x, y) on cells with ``clearance_m``, a geodesic
    ``distance_m`` range apart on the road map; also returns the goal's geodesic field."""
    grid = plan.grid
    spots = np.argwhere(roads.mask & (grid.sdf >= clearance_m))
    for _ in range(50):
        gi, gj = spots[rng.integers(len(spots))]
        goal = grid.point(int(gi), int(gj))
        field = geodesic_field(plan, roads, goal)
        d = field[spots[:, 0], spots[:, 1]]
        candidates = spots[(d >= distance_m[0]) & (d <= distance_m[1])]
        if len(candidates):
            si, sj = candidates[rng.integers(len(candidates))]
            x, y = grid.point(int(si), int(sj))
            return (x, y, float(rng.uniform(-math.pi, math.pi))), goal, field
    raise ValueError(f"no start {distance_m} m from a goal in this plan; widen goal_distance_m")


# ---------------------------------------------------------------------------
# Scene


_FURNITURE_COLOURS = ((0.55, 0.35, 0.2, 1.0), (0.3, 0.45, 0.6, 1.0), (0.6, 0.55, 0.45, 1.0), (0.35, 0.5, 0.3, 1.0))


def plan_scene(plan: FloorPlan, robot: Body, actuators: list[Actuator], timestep_s: float, rng: np.random.Generator) -> Scene:
    """The plan as static bodies (floor, walls, door lintels, one body per furniture piece)
    plus the robot; furniture colours come from ``rng``."""
    cfg = plan.config
    scene = Scene(name="floorplan", timestep_s=timestep_s)
    floor = Geom("floor_plane", "plane", (0.0, 0.0), friction=0.8, rgba=(0.8, 0.78, 0.72, 1.0))
    scene.add(Body("floor", geoms=[floor], semantic_class=FLOOR))
    walls = [_prism(f"wall_{k}", w, 0.0, w.height_m, (0.9, 0.9, 0.88, 1.0)) for k, w in enumerate(plan.walls)]
    scene.add(Body("walls", geoms=walls, semantic_class=WALL))
    if plan.doors:
        lintel = cfg.wall_height_m - cfg.door_height_m
        colour = (0.6, 0.45, 0.3, 1.0)
        lintels = [_prism(f"door_{k}", d, cfg.door_height_m, lintel, colour, collide=False) for k, d in enumerate(plan.doors)]
        scene.add(Body("doors", geoms=lintels, semantic_class=DOOR))
    for k, piece in enumerate(plan.furniture):
        colour = _FURNITURE_COLOURS[int(rng.integers(len(_FURNITURE_COLOURS)))]
        geom = _prism(f"furniture_{k}_geom", piece, 0.0, piece.height_m, colour)
        scene.add(Body(f"furniture_{k}", geoms=[geom], semantic_class=FURNITURE))
    scene.add(robot)
    scene.actuators.extend(actuators)
    scene.lights.append(Light("sun", pos=(plan.width_m / 2, plan.height_m / 2, 5.0), direction=(0.3, 0.2, -1.0)))
    return scene


def _prism(name: str, shape: Box2, z0_m: float, height_m: float, rgba, collide: bool = True) -> Geom:
    """A Box2 footprint extruded from ``z0_m`` up by ``height_m``."""
    pos = (shape.x, shape.y, z0_m + height_m / 2)
    if shape.cylinder:
        return Geom(name, "cylinder", (shape.half[0], height_m / 2), pos=pos, rgba=rgba, collide=collide)
    quat = quat_from_axis_angle((0.0, 0.0, 1.0), shape.yaw_rad)
    return Geom(name, "box", (shape.half[0], shape.half[1], height_m / 2), pos=pos, quat=quat, rgba=rgba, collide=collide)
