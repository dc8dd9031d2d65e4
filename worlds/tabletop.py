"""Tabletop world for grasping: a table, a Franka Panda on it, and a pool of graspable objects.

The world is built once per object set and reused across episodes: :func:`build_tabletop`
makes the scene (table, robot and the objects, parked on the table behind the robot, out
of its reach), and :func:`place_objects` draws each episode's non-overlapping poses on
the table, which the task applies with ``set_body_pose``. Both draw only from the RNG
they are given.

Objects are primitives (box, sphere, capsule, cylinder) and pybullet_data's ``random_urdfs``
meshes, loaded with :func:`simsuite.urdf.load_urdf` (their URDF inertia is a placeholder,
so it is recomputed from the mesh). Every object rests stably with a horizontal width the
Panda hand can close on (opening 0–0.08 m); its body frame sits at its centre of mass.

Frames: world z-up, the table top at ``table_height_m``, the robot base on the table top
at the world origin's x, y, facing +x.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path

import numpy as np

from simsuite.scene import Body, Geom, Inertial, Joint, Quat, Scene, Vec3
from simsuite.transforms import mat_to_quat, quat_from_axis_angle, quat_mul, quat_to_mat
from simsuite.urdf import UrdfModel, load_urdf

PRIMITIVES = ("box", "sphere", "capsule", "cylinder")
OBJECT_KINDS = PRIMITIVES + ("mesh",)
ARM_JOINTS = tuple(f"panda_joint{i}" for i in range(1, 8))
FINGER_JOINTS = ("panda_finger_joint1", "panda_finger_joint2")
FINGER_BODIES = ("panda_leftfinger", "panda_rightfinger")
ROBOT_ROOT, EE_BODY = "panda_link0", "panda_grasptarget"
READY_Q = (0.0, -0.785, 0.0, -2.356, 0.0, 1.571, 0.785)  # [rad] Franka's "ready" posture
FINGER_MAX_M = 0.04  # each finger's travel; the opening is their sum (0–0.08 m)
FINGERTIP_BELOW_EE_M = 0.0072  # fingertips reach this far below the grasp frame
PLACE_CLEARANCE_M = 5e-4  # objects are dropped from this height above their rest
N_MESHES = 1000  # random_urdfs/000 ... 999
_YAWS = np.linspace(0.0, math.pi, 36, endpoint=False)  # directions searched for the narrowest width
_DIRECTIONS = np.random.default_rng(0).normal(size=(3, 256))  # fixed unit directions: a quick thickness bound
_DIRECTIONS /= np.linalg.norm(_DIRECTIONS, axis=0)


@dataclass(frozen=True)
class TabletopConfig:
    """World layout and the object distribution (frozen: copy with ``dataclasses.replace``)."""

    table_height_m: float = 0.4  # table top above the floor
    table_x_m: tuple[float, float] = (-0.75, 0.95)  # table top extent in x (parking behind the robot)
    table_y_m: tuple[float, float] = (-0.6, 0.6)  # table top extent in y
    table_friction: float = 0.8
    # Rolling resistance of the table and of objects that can roll (spheres, lying capsules);
    # a contact uses the product, 1 mm. Without it a capsule on PyBullet rolls off by itself.
    table_rolling_friction: float = 0.01  # [m]
    object_rolling_friction: float = 0.1  # [m]
    spawn_x_m: tuple[float, float] = (0.35, 0.65)  # where object centres may be placed
    spawn_y_m: tuple[float, float] = (-0.22, 0.22)
    object_gap_m: float = 0.04  # minimum clearance between two objects' footprints
    object_kinds: tuple[str, ...] = OBJECT_KINDS  # drawn uniformly per object
    object_mass_kg: tuple[float, float] = (0.05, 0.25)  # uniform
    object_friction: tuple[float, float] = (0.7, 1.0)  # uniform
    max_grasp_width_m: float = 0.065  # widest object the hand must close on (opening 0.08)
    min_height_m: float = 0.02  # lowest object: the fingers need something to pinch
    max_height_m: float = 0.14
    max_footprint_m: float = 0.1  # largest horizontal radius (keeps 5 objects placeable)
    finger_friction: float = 1.0
    torsional_friction: float = 0.1  # fingers and objects; a contact uses the product [m]
    # Servo gains: damped on the arm's inertia, yet with explicit damping stable at the 4 ms
    # step: over sampled workspace postures, with rotor_inertia below, the step-rate
    # (alternating-sign) modes of the discrete servo loop have |λ| ≤ 0.35, so nothing rings.
    arm_kp: tuple[float, ...] = (2000.0, 4000.0, 2000.0, 3000.0, 800.0, 800.0, 600.0)  # [N·m/rad]
    arm_kv: tuple[float, ...] = (60.0, 120.0, 50.0, 100.0, 25.0, 25.0, 20.0)  # [N·m·s/rad]
    rotor_inertia: float = 0.3  # [kg·m²] added about each arm joint's axis (see load_panda)
    finger_kp: float = 2000.0  # [N/m]: saturates the force limit 5 mm short of the target
    finger_kv: float = 20.0  # [N·s/m]
    # Grip force per finger [N]: half the URDF's 20 N. Still 5× what a 0.25 kg object needs;
    # at 20 N MuJoCo's soft contacts sink a light object ~5 mm into the pads, and it creeps out.
    finger_force_n: float = 10.0
    park_x_m: float = -0.55  # objects wait on the table here, behind the robot, in a row along y
    timestep_s: float = 0.004


@dataclass(frozen=True)
class TableObject:
    """What the task and expert need to know about one pooled object (all from its geometry)."""

    name: str  # body name, ``object_<i>``
    kind: str  # one of OBJECT_KINDS
    source: str  # the primitive, or the random_urdfs file it came from
    mass_kg: float
    rest_quat: Quat  # orientation in which it rests stably (before the random yaw)
    rest_height_m: float  # body origin (its centre of mass) above the table when resting
    height_m: float  # top minus bottom when resting
    footprint_m: float  # largest horizontal distance of its surface from the body origin, resting
    grasp_axis: Vec3  # unit direction in the body frame to close the fingers along (horizontal at rest)
    grasp_width_m: float  # the object's width along grasp_axis
    grasp_point: Vec3  # body frame: midway between the two surface points the fingers meet
    park_pos: Vec3  # where it waits (behind the robot) when unused


@dataclass
class Tabletop:
    """A built world: the scene and what is known about its objects."""

    scene: Scene
    objects: list[TableObject]
    config: TabletopConfig


def pybullet_data_dir() -> Path:
    """pybullet_data's folder (a data package; importing it does not load the engine)."""
    try:
        import pybullet_data
    except ImportError as exc:  # pragma: no cover - pybullet is a dependency
        raise ImportError("the tabletop world needs the pybullet_data assets (pip install pybullet)") from exc
    return Path(pybullet_data.getDataPath())


def load_panda(config: TabletopConfig) -> UrdfModel:
    """The Franka Panda from pybullet_data with stiff position servos on every joint.

    Each arm link's rotational inertia gets ``rotor_inertia`` about its joint axis (half of
    it about the other two, to stay physical) on top of the URDF's 0.1 kg·m²: a stand-in
    for the reflected rotor inertia the URDF omits (``Joint.armature`` would be exact, but
    the PyBullet backend ignores it). Without it, when joints 1 and 3 (or 5 and 7) line up
    only one link's inertia resists their opposed motion, and the servos' explicit damping
    goes unstable at the 4 ms step on both engines."""
    gains = dict(zip(ARM_JOINTS, zip(config.arm_kp, config.arm_kv)))
    gains.update({j: (config.finger_kp, config.finger_kv) for j in FINGER_JOINTS})
    model = load_urdf(
        pybullet_data_dir() / "franka_panda" / "panda.urdf",
        pos=(0.0, 0.0, config.table_height_m),
        actuators="position",
        kp={j: kp for j, (kp, _) in gains.items()},
        kv={j: kv for j, (_, kv) in gains.items()},
    )
    extra = config.rotor_inertia
    for act in model.actuators:
        if act.joint in FINGER_JOINTS:
            act.force_range = (-config.finger_force_n, config.finger_force_n)
    for body in model.root.walk():
        if body.joint is not None and body.joint.name in ARM_JOINTS and body.inertial is not None:
            if body.inertial.quat != (1.0, 0.0, 0.0, 0.0) or body.joint.axis != (0.0, 0.0, 1.0):
                raise ValueError(f"{body.name}: expected an unrotated inertial and a z joint axis, as panda.urdf has")
            ixx, iyy, izz = body.inertial.diag_inertia  # principal axes = link axes; joints turn about z
            body.inertial = replace(body.inertial, diag_inertia=(ixx + extra / 2, iyy + extra / 2, izz + extra))
        if body.name in FINGER_BODIES:
            for geom in body.geoms:
                geom.friction, geom.torsional_friction = config.finger_friction, config.torsional_friction
    # Joint.initial stays 0: the MuJoCo backend writes it to qpos0, which MuJoCo also takes as
    # the joints' reference angle (it would shift their zero). The task poses the arm at reset.
    return model


def build_tabletop(rng: np.random.Generator, config: TabletopConfig, panda: UrdfModel, pool_size: int) -> Tabletop:
    """Floor, table, robot and ``pool_size`` objects drawn from ``rng``, all parked. The
    floor catches what falls off the table (a body falling for ever would end as a
    runaway velocity)."""
    scene = Scene(name="tabletop", timestep_s=config.timestep_s)
    scene.add(Body("floor", geoms=[Geom("floor_plane", "plane", (0.0, 0.0), friction=1.0)], semantic_class="floor"))
    (x0, x1), (y0, y1), h = config.table_x_m, config.table_y_m, config.table_height_m
    top = Geom(
        "table_top", "box", ((x1 - x0) / 2, (y1 - y0) / 2, h / 2),
        friction=config.table_friction, rolling_friction=config.table_rolling_friction, rgba=(0.55, 0.4, 0.3, 1.0),
    )
    scene.add(Body("table", pos=((x0 + x1) / 2, (y0 + y1) / 2, h / 2), geoms=[top], semantic_class="table"))
    robot = copy.deepcopy(panda)
    scene.add(robot.root)
    scene.actuators.extend(robot.actuators)
    objects = []
    for i in range(pool_size):
        body, info = make_object(f"object_{i}", rng, config, park_y_m=(i - (pool_size - 1) / 2) * 0.22)
        scene.add(body)
        objects.append(info)
    return Tabletop(scene, objects, config)


def place_objects(
    rng: np.random.Generator, objects: list[TableObject], count: int, config: TabletopConfig, tries: int = 200
) -> list[tuple[TableObject, np.ndarray, np.ndarray]]:
    """Up to ``count`` objects (a random choice) at random, non-overlapping table poses:
    ``(object, position, quaternion)``. The first is always placed; one that finds no free
    spot in ``tries`` draws stays parked."""
    placed: list[tuple[TableObject, np.ndarray, np.ndarray]] = []
    top = config.table_height_m
    for index in rng.permutation(len(objects))[:count]:
        obj = objects[int(index)]
        for _ in range(tries):
            xy = rng.uniform((config.spawn_x_m[0], config.spawn_y_m[0]), (config.spawn_x_m[1], config.spawn_y_m[1]))
            if all(np.hypot(*(xy - p[:2])) >= obj.footprint_m + o.footprint_m + config.object_gap_m for o, p, _ in placed):
                yaw = rng.uniform(-math.pi, math.pi)
                quat = quat_mul(quat_from_axis_angle((0.0, 0.0, 1.0), yaw), obj.rest_quat)
                pos = np.array([xy[0], xy[1], top + obj.rest_height_m + PLACE_CLEARANCE_M])
                placed.append((obj, pos, quat))
                break
    return placed


# ---------------------------------------------------------------------------
# Objects


def make_object(name: str, rng: np.random.Generator, config: TabletopConfig, park_y_m: float) -> tuple[Body, TableObject]:
    """One graspable object, resting in a stable pose, its body frame at its centre of mass."""
    kind = config.object_kinds[int(rng.integers(len(config.object_kinds)))]
    mass = float(rng.uniform(*config.object_mass_kg))
    friction = float(rng.uniform(*config.object_friction))
    if kind == "mesh":
        body, info = _mesh_object(name, rng, config, mass)
    else:
        body, info = _primitive_object(name, kind, rng, config, mass)
    rolling = config.object_rolling_friction if kind in ("sphere", "capsule") else 0.0
    for geom in body.geoms:
        geom.friction, geom.torsional_friction, geom.rolling_friction = friction, config.torsional_friction, rolling
    info = replace(info, park_pos=(config.park_x_m, park_y_m, config.table_height_m + info.rest_height_m + PLACE_CLEARANCE_M))
    body.pos, body.quat = info.park_pos, info.rest_quat
    return body, info


def _primitive_object(name: str, kind: str, rng: np.random.Generator, config: TabletopConfig, mass: float) -> tuple[Body, TableObject]:
    """Sizes [m] drawn so the object fits the hand; a capsule lies on its side, a cylinder stands."""
    half_grasp = (0.015, config.max_grasp_width_m / 2)  # half the width across the fingers
    rgba = (*rng.uniform(0.15, 0.95, 3), 1.0)
    rest: Quat = (1.0, 0.0, 0.0, 0.0)
    axis: Vec3 = (1.0, 0.0, 0.0)
    if kind == "box":
        a, c = rng.uniform(*half_grasp), rng.uniform(config.min_height_m / 2, 0.05)
        b = rng.uniform(a, 0.05)  # x is the narrow side: the fingers close along x
        size, rest_h, height, foot, width = (a, b, c), c, 2 * c, math.hypot(a, b), 2 * a
    elif kind == "sphere":
        r = rng.uniform(0.02, min(half_grasp[1], 0.035))
        size, rest_h, height, foot, width = (r,), r, 2 * r, r, 2 * r
    elif kind == "cylinder":
        r, hh = rng.uniform(*half_grasp), rng.uniform(config.min_height_m / 2, 0.06)
        size, rest_h, height, foot, width = (r, hh), hh, 2 * hh, r, 2 * r
    else:  # capsule, axis along y once lying: close across it, along x
        r, hh = rng.uniform(0.015, min(half_grasp[1], 0.03)), rng.uniform(0.02, 0.05)
        size, rest_h, height, foot, width = (r, hh), r, 2 * r, hh + r, 2 * r
        rest = quat_from_axis_angle((1.0, 0.0, 0.0), math.pi / 2)
    geom = Geom(f"{name}_geom", kind, tuple(float(s) for s in size), rgba=rgba)  # type: ignore[arg-type]
    geom.density_kg_m3 = mass / _volume(kind, geom.size)
    body = Body(name, joint=Joint(f"{name}_free", "free"), geoms=[geom], semantic_class="object")
    info = TableObject(name, kind, kind, mass, rest, float(rest_h), float(height), float(foot), axis, float(width), (0.0, 0.0, 0.0), (0.0, 0.0, 0.0))
    return body, info


def _volume(kind: str, size: tuple[float, ...]) -> float:
    if kind == "box":
        return 8.0 * size[0] * size[1] * size[2]
    if kind == "sphere":
        return 4.0 / 3.0 * math.pi * size[0] ** 3
    if kind == "cylinder":
        return math.pi * size[0] ** 2 * 2.0 * size[1]
    return math.pi * size[0] ** 2 * 2.0 * size[1] + 4.0 / 3.0 * math.pi * size[0] ** 3


def _mesh_object(name: str, rng: np.random.Generator, config: TabletopConfig, mass: float) -> tuple[Body, TableObject]:
    """A random_urdfs object with a graspable stable rest, drawn by rejection from the 1,000."""
    limits = (config.max_grasp_width_m, config.min_height_m, config.max_height_m, config.max_footprint_m)
    for _ in range(200):
        index = int(rng.integers(N_MESHES))
        rest = _mesh_rest(index, limits)
        if rest is not None:
            break
    else:  # pragma: no cover - about one mesh in four qualifies
        raise RuntimeError(f"no graspable random_urdfs mesh found within the limits {limits}")
    urdf = pybullet_data_dir() / "random_urdfs" / f"{index:03d}" / f"{index:03d}.urdf"
    model = load_urdf(urdf, fixed_base=False, recompute_inertia=True, semantic_class="object")
    body = model.root
    inertial = body.inertial
    assert inertial is not None  # recompute_inertia=True always gives one
    com = np.asarray(inertial.pos)
    # Rename to the pool slot, and move the body frame to the centre of mass.
    body.name, body.children = name, []
    body.joint = Joint(f"{name}_free", "free")
    for k, geom in enumerate(body.geoms):
        geom.name = f"{name}_{'col' if geom.collide else 'vis'}{k}"
        geom.pos = tuple(float(v) for v in np.asarray(geom.pos) - com)  # type: ignore[assignment]
    scale = mass / inertial.mass_kg
    body.inertial = Inertial(mass, tuple(v * scale for v in inertial.diag_inertia), (0.0, 0.0, 0.0), inertial.quat)  # type: ignore[arg-type]
    rest_quat, rest_h, height, foot, axis, width, point = rest
    info = TableObject(name, "mesh", f"random_urdfs/{index:03d}/{index:03d}.urdf", mass, rest_quat, rest_h, height, foot, axis, width, point, (0.0, 0.0, 0.0))
    return body, info


@lru_cache(maxsize=N_MESHES)
def _mesh_rest(index: int, limits: tuple[float, float, float, float]) -> tuple | None:
    """The most stable graspable rest of mesh ``index`` (geometry only, so cached):
    ``(rest_quat, rest height, height, footprint, grasp axis, width, grasp point)`` with
    axis and point in the body frame, or None when no rest fits ``limits`` (max width,
    min and max height, max footprint).

    The fingers close along the narrowest horizontal direction, centred across that width
    above the centre of mass, level with the hull points that bound it: there the surface
    faces the fingers (an antipodal grasp), so squeezing does not push the object out."""
    from simsuite.meshes import load_mesh

    folder = pybullet_data_dir() / "random_urdfs" / f"{index:03d}"
    try:
        mesh = load_mesh(folder / f"{index:03d}.obj", _urdf_mesh_scale(folder / f"{index:03d}.urdf"))
    except ValueError:  # a broken asset in pybullet_data (168.obj has only NaN vertices): never drawn
        return None
    hull = mesh.convex_hull
    verts = np.asarray(hull.vertices) - np.asarray(hull.center_mass)  # body frame: origin at the COM
    max_width, min_h, max_h, max_foot = limits
    if np.ptp(verts @ _DIRECTIONS, axis=0).min() > 1.15 * max_width:  # too thick every way (sampling slack)
        return None
    best, best_tilt = None, -1.0
    for normal, tilt in _stable_faces(hull):
        rot = _rotation_to_down(normal)
        v = verts @ rot.T
        height, foot = float(np.ptp(v[:, 2])), float(np.hypot(v[:, 0], v[:, 1]).max())
        along = v[:, :2] @ np.stack([np.cos(_YAWS), np.sin(_YAWS)])  # (vertices, directions)
        widths = np.ptp(along, axis=0)
        k = int(np.argmin(widths))
        if widths[k] <= max_width and min_h <= height <= max_h and foot <= max_foot and tilt > best_tilt:
            direction = np.array([math.cos(_YAWS[k]), math.sin(_YAWS[k]), 0.0])
            lo, hi = along[:, k].min(), along[:, k].max()
            touched = (along[:, k] > hi - 0.003) | (along[:, k] < lo + 0.003)  # where the fingers meet it
            z = float(np.clip(v[touched, 2].mean(), v[:, 2].min() + 0.01, v[:, 2].max() - 0.005))
            point = (lo + hi) / 2.0 * direction + (0.0, 0.0, z)  # centred across, level with the touch points
            best = (
                mat_to_quat(rot), float(-v[:, 2].min()), height, foot,
                tuple(float(x) for x in rot.T @ direction), float(widths[k]), tuple(float(x) for x in rot.T @ point),
            )
            best_tilt = tilt
    return best


def _urdf_mesh_scale(urdf: Path) -> tuple[float, float, float]:
    """The collision mesh scale written in a random_urdfs file."""
    import xml.etree.ElementTree as ET

    mesh = ET.parse(urdf).getroot().find("link/collision/geometry/mesh")
    scale = [float(s) for s in (mesh.get("scale") if mesh is not None and mesh.get("scale") else "1 1 1").split()]
    return (scale[0], scale[0], scale[0]) if len(scale) == 1 else (scale[0], scale[1], scale[2])


def _stable_faces(hull, min_tilt_rad: float = 0.12) -> list[tuple[np.ndarray, float]]:
    """(outward normal, tipping angle [rad]) of each hull facet the body can rest on: the
    centre of mass projects inside it, so far from its edges that tipping over needs a
    tilt of at least ``min_tilt_rad``."""
    com = np.asarray(hull.center_mass)
    tri, normals = np.asarray(hull.triangles), np.asarray(hull.face_normals)
    height = np.einsum("fi,fi->f", tri[:, 0] - com, normals)  # COM above each face's plane
    inside = _projects_inside(com + height[:, None] * -normals, tri)  # the COM's foot on each face
    grouped = {int(f) for facet in hull.facets for f in facet}
    groups = [np.asarray(facet) for facet in hull.facets] + [np.array([f]) for f in range(len(tri)) if f not in grouped]
    result = []
    for faces in groups:
        if not inside[faces].any():  # cheap rejection of most faces
            continue
        normal = normals[faces[0]]
        corners = np.asarray(hull.vertices)[np.unique(np.asarray(hull.faces)[faces])]
        foot = com - height[faces[0]] * normal
        tilt = math.atan2(_inside_margin(foot, corners, normal), height[faces[0]])
        if tilt >= min_tilt_rad:
            result.append((normal, tilt))
    return result


def _projects_inside(points: np.ndarray, tri: np.ndarray) -> np.ndarray:
    """Whether each point (F, 3) lies inside its triangle (F, 3, 3), all in one go."""
    v0, v1, v2 = tri[:, 2] - tri[:, 0], tri[:, 1] - tri[:, 0], points - tri[:, 0]
    d00, d01, d02 = (v0 * v0).sum(1), (v0 * v1).sum(1), (v0 * v2).sum(1)
    d11, d12 = (v1 * v1).sum(1), (v1 * v2).sum(1)
    den = d00 * d11 - d01 * d01
    den = np.where(np.abs(den) < 1e-18, np.inf, den)
    u, v = (d11 * d02 - d01 * d12) / den, (d00 * d12 - d01 * d02) / den
    return (u >= -1e-9) & (v >= -1e-9) & (u + v <= 1.0 + 1e-9)


def _inside_margin(point: np.ndarray, corners: np.ndarray, normal: np.ndarray) -> float:
    """Distance from ``point`` to the nearest edge of the convex polygon ``corners`` (all in
    the plane with ``normal``); negative outside."""
    helper = np.array([1.0, 0.0, 0.0] if abs(normal[0]) < 0.9 else [0.0, 1.0, 0.0])
    u = helper - (helper @ normal) * normal
    u /= np.linalg.norm(u)
    w = np.array([normal[1] * u[2] - normal[2] * u[1], normal[2] * u[0] - normal[0] * u[2], normal[0] * u[1] - normal[1] * u[0]])
    flat = (corners - point) @ np.stack([u, w], axis=1)  # in-plane coordinates, the point at the origin
    centre = flat.mean(axis=0)
    ring = flat[np.argsort(np.arctan2(flat[:, 1] - centre[1], flat[:, 0] - centre[0]))]
    edge = np.roll(ring, -1, axis=0) - ring
    length = np.hypot(edge[:, 0], edge[:, 1])
    keep = length > 1e-12
    ring, edge, length = ring[keep], edge[keep], length[keep]
    to_origin = edge[:, 0] * -ring[:, 1] - edge[:, 1] * -ring[:, 0]  # edge × (origin − start)
    to_centre = edge[:, 0] * (centre[1] - ring[:, 1]) - edge[:, 1] * (centre[0] - ring[:, 0])
    return float(np.min(to_origin * np.sign(to_centre) / length))


def _rotation_to_down(normal: np.ndarray) -> np.ndarray:
    """The smallest rotation taking ``normal`` to −z (the face then lies on the table)."""
    down = np.array([0.0, 0.0, -1.0])
    axis = np.cross(normal, down)
    s, c = np.linalg.norm(axis), float(normal @ down)
    if s < 1e-9:
        return np.eye(3) if c > 0 else np.diag([1.0, -1.0, -1.0])
    return quat_to_mat(quat_from_axis_angle(axis / s, math.atan2(s, c)))
