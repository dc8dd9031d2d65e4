"""The backend-neutral scene model.

Worlds build a :class:`Scene`; each physics backend compiles it into its engine
and the renderer draws it from the poses the backend reports. Nothing here
imports an engine.

Conventions (see ../shared/DESIGN.md):
- SI units, world z-up, quaternions scalar-first ``(w, x, y, z)``.
- A body's frame is where its joint sits: a joint always rotates or slides about
  the origin of its own body's frame (URDF's convention), so both engines agree
  on where the axis is.
- A body with no joint is welded to its parent (or to the world at top level);
  a top-level body with a ``free`` joint is a free-floating rigid body.
- A contact's friction and restitution are the *products* of the two surfaces'
  coefficients (PyBullet's rule; the MuJoCo backend compiles explicit contact
  pairs so that it follows the same rule).
- Bodies of the same top-level tree never collide with each other.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator, Literal, Sequence

import numpy as np

from simsuite.transforms import mat_to_quat, quat_to_mat

Vec3 = tuple[float, float, float]
Quat = tuple[float, float, float, float]

GeomType = Literal["plane", "box", "sphere", "capsule", "cylinder", "mesh"]
JointType = Literal["hinge", "slide", "free"]
ActuatorKind = Literal["position", "velocity", "torque", "brake"]
FrictionCone = Literal["pyramidal", "elliptic"]

GEOM_TYPES: tuple[str, ...] = ("plane", "box", "sphere", "capsule", "cylinder", "mesh")
JOINT_TYPES: tuple[str, ...] = ("hinge", "slide", "free")
ACTUATOR_KINDS: tuple[str, ...] = ("position", "velocity", "torque", "brake")
FRICTION_CONES: tuple[str, ...] = ("pyramidal", "elliptic")
IDENTITY_QUAT: Quat = (1.0, 0.0, 0.0, 0.0)
# Number of values in Geom.size per type, and what they mean.
_GEOM_SIZE_LEN = {
    "plane": 2,  # half extents x, y [m]; (0, 0) is infinite
    "box": 3,  # half extents x, y, z [m]
    "sphere": 1,  # radius [m]
    "capsule": 2,  # radius, half length of the cylinder part along z [m]
    "cylinder": 2,  # radius, half length along z [m]
    "mesh": 0,  # size comes from the mesh file and Geom.mesh_scale
}


class SceneError(ValueError):
    """A scene that cannot be compiled: names the offending element and field."""


@dataclass
class Material:
    """Surface appearance; ``texture`` is an image file (PNG/JPEG) tiled ``texrepeat`` times."""

    name: str
    rgba: tuple[float, float, float, float] = (0.7, 0.7, 0.7, 1.0)
    texture: str | None = None
    texrepeat: tuple[float, float] = (1.0, 1.0)


@dataclass
class Geom:
    """A collision and/or visual shape attached to a body, posed in the body frame."""

    name: str
    type: GeomType
    size: tuple[float, ...] = ()
    pos: Vec3 = (0.0, 0.0, 0.0)
    quat: Quat = IDENTITY_QUAT
    mesh: str | None = None  # OBJ or STL file, for type == "mesh"
    mesh_scale: Vec3 = (1.0, 1.0, 1.0)
    rgba: tuple[float, float, float, float] = (0.7, 0.7, 0.7, 1.0)
    material: str | None = None
    friction: float = 1.0  # sliding friction coefficient (contact uses the product)
    torsional_friction: float = 0.0  # [m]
    rolling_friction: float = 0.0  # [m]
    restitution: float = 0.0  # 0 = plastic, 1 = elastic (contact uses the product)
    density_kg_m3: float = 1000.0  # used when the body has no explicit inertial
    collide: bool = True  # False: visual only (not hit by rays either)
    visible: bool = True  # False: collision only (the renderer skips it)


@dataclass
class Joint:
    """A joint at the origin of its body's frame, moving the body relative to its parent."""

    name: str
    type: JointType
    axis: Vec3 = (0.0, 0.0, 1.0)  # in the body frame
    range: tuple[float, float] | None = None  # [rad] or [m]; None = unlimited
    damping: float = 0.0  # [N·m·s/rad] or [N·s/m]
    armature: float = 0.0  # reflected rotor inertia [kg·m²]
    initial: float = 0.0  # initial position [rad] or [m]


@dataclass
class Site:
    """A named frame on a body: sensor mounts and points where forces are applied."""

    name: str
    pos: Vec3 = (0.0, 0.0, 0.0)
    quat: Quat = IDENTITY_QUAT


@dataclass
class Inertial:
    """Mass properties: principal inertia ``diag_inertia`` about the frame ``pos, quat``."""

    mass_kg: float
    diag_inertia: Vec3  # [kg·m²]
    pos: Vec3 = (0.0, 0.0, 0.0)
    quat: Quat = IDENTITY_QUAT


@dataclass
class Body:
    """A rigid body, posed relative to its parent (or the world)."""

    name: str
    pos: Vec3 = (0.0, 0.0, 0.0)
    quat: Quat = IDENTITY_QUAT
    joint: Joint | None = None
    geoms: list[Geom] = field(default_factory=list)
    sites: list[Site] = field(default_factory=list)
    children: list["Body"] = field(default_factory=list)
    inertial: Inertial | None = None  # None: computed from the colliding geoms' density
    semantic_class: str = "object"
    linear_damping: float = 0.0  # [1/s], drag force = -c·m·v (PyBullet's default 0.04 is overridden)
    angular_damping: float = 0.0  # [1/s]

    def add(self, child: "Body") -> "Body":
        """Attach ``child`` and return it, so trees read top-down."""
        self.children.append(child)
        return child

    def walk(self) -> Iterator["Body"]:
        """This body and its descendants, depth first."""
        yield self
        for child in self.children:
            yield from child.walk()

    @property
    def is_free(self) -> bool:
        return self.joint is not None and self.joint.type == "free"

    def mass_properties(self, mesh_dir: Path | None = None) -> Inertial:
        """Explicit inertial, or one computed from colliding geoms so both engines get the same."""
        if self.inertial is not None:
            return self.inertial
        return compute_inertial(self.geoms, mesh_dir)


@dataclass
class Actuator:
    """A motor on a joint. position: u = kp·(target − q) − kv·q̇; velocity: u = kv·(target − q̇);
    torque: u = gear·ctrl. ``force_range`` clips u [N·m or N]; ``ctrl_range`` clips the command.
    brake: dry friction of up to u = gear·ctrl (ctrl < 0 reads as 0) at the joint, opposing its
    motion and holding it at rest: a brake or a clutch. Both engines solve it as a constraint
    with the contacts, so a brake stronger than the load stops a wheel within a step and never
    turns it backwards, which a torque computed from the last measured speed does at a
    coarse timestep."""

    name: str
    joint: str
    kind: ActuatorKind
    kp: float = 0.0
    kv: float = 0.0
    gear: float = 1.0
    ctrl_range: tuple[float, float] | None = None
    force_range: tuple[float, float] | None = None


@dataclass
class Light:
    name: str
    pos: Vec3 = (0.0, 0.0, 5.0)
    direction: Vec3 = (0.0, 0.0, -1.0)
    directional: bool = True
    diffuse: tuple[float, float, float] = (0.8, 0.8, 0.8)
    cast_shadow: bool = False


@dataclass
class Camera:
    """A pinhole camera; mounted on ``body`` (or fixed in the world when None).
    Its optical frame looks along +z, x right, y down (ROS convention)."""

    name: str
    body: str | None = None
    pos: Vec3 = (0.0, 0.0, 0.0)
    quat: Quat = IDENTITY_QUAT
    width: int = 128
    height: int = 128
    fovy_deg: float = 60.0


@dataclass
class Scene:
    """Everything a backend compiles and the renderer draws."""

    name: str = "scene"
    bodies: list[Body] = field(default_factory=list)
    actuators: list[Actuator] = field(default_factory=list)
    materials: list[Material] = field(default_factory=list)
    lights: list[Light] = field(default_factory=list)
    cameras: list[Camera] = field(default_factory=list)
    gravity: Vec3 = (0.0, 0.0, -9.81)  # [m/s²]
    timestep_s: float = 0.002
    mesh_dir: str | None = None  # base for relative mesh paths
    # MuJoCo's contact friction: "pyramidal" (its default, fastest) or "elliptic": the friction
    # force bounded by μ·N in any direction. A pyramid allows less at 45° to its axes, so a
    # contact sliding in two directions at once (a wheel spinning on its tyre while it also
    # slips sideways) gets direction-dependent grip. PyBullet always bounds the magnitude.
    friction_cone: FrictionCone = "pyramidal"

    def add(self, body: Body) -> Body:
        self.bodies.append(body)
        return body

    def walk(self) -> Iterator[tuple[Body, Body | None, Body]]:
        """Every body as ``(body, parent, root)``; parent is None at top level."""
        for root in self.bodies:
            stack: list[tuple[Body, Body | None]] = [(root, None)]
            while stack:
                body, parent = stack.pop(0)
                yield body, parent, root
                stack[0:0] = [(child, body) for child in body.children]

    def body(self, name: str) -> Body:
        for body, _, _ in self.walk():
            if body.name == name:
                return body
        raise SceneError(f"unknown body {name!r}; bodies are {sorted(self.body_names())}")

    def body_names(self) -> list[str]:
        return [body.name for body, _, _ in self.walk()]

    def joints(self) -> list[Joint]:
        return [body.joint for body, _, _ in self.walk() if body.joint is not None]

    def resolve_mesh(self, path: str) -> Path:
        p = Path(path)
        if not p.is_absolute() and self.mesh_dir is not None:
            p = Path(self.mesh_dir) / p
        return p

    def validate(self) -> None:
        """Raise :class:`SceneError` naming the first malformed element."""
        seen: dict[str, str] = {}

        def claim(kind: str, name: str) -> None:
            if not name:
                raise SceneError(f"a {kind} has an empty name")
            if name in seen:
                raise SceneError(f"duplicate name {name!r} (a {seen[name]} and a {kind})")
            seen[name] = kind

        for material in self.materials:
            claim("material", material.name)
        material_names = {m.name for m in self.materials}
        for body, parent, _ in self.walk():
            claim("body", body.name)
            _check_quat(body.quat, f"body {body.name!r} quat")
            if body.joint is not None:
                claim("joint", body.joint.name)
                _check_joint(body.joint, body, parent)
            for geom in body.geoms:
                claim("geom", geom.name)
                _check_geom(geom, material_names, self)
            for site in body.sites:
                claim("site", site.name)
            if body.inertial is not None and body.inertial.mass_kg <= 0:
                raise SceneError(f"body {body.name!r}: inertial mass_kg must be > 0")
            if (body.joint is not None or parent is not None) and body.inertial is None:
                if not any(g.collide for g in body.geoms):
                    raise SceneError(
                        f"body {body.name!r} moves but has no colliding geom and no inertial; "
                        "give it an Inertial"
                    )
        joint_types = {j.name: j.type for j in self.joints()}
        joint_names = set(joint_types)
        for act in self.actuators:
            claim("actuator", act.name)
            if act.joint not in joint_names:
                raise SceneError(f"actuator {act.name!r}: unknown joint {act.joint!r}")
            if act.kind not in ACTUATOR_KINDS:
                raise SceneError(f"actuator {act.name!r}: kind {act.kind!r} not in {ACTUATOR_KINDS}")
            if act.kind == "brake" and joint_types[act.joint] not in ("hinge", "slide"):
                raise SceneError(f"actuator {act.name!r}: a brake holds a hinge or slide joint, not the {joint_types[act.joint]} joint {act.joint!r}")
        for cam in self.cameras:
            claim("camera", cam.name)
            if cam.body is not None and cam.body not in seen:
                raise SceneError(f"camera {cam.name!r}: unknown body {cam.body!r}")
        for light in self.lights:
            claim("light", light.name)
        if self.friction_cone not in FRICTION_CONES:
            raise SceneError(f"friction_cone {self.friction_cone!r} not in {FRICTION_CONES}")
        if self.timestep_s <= 0 or not math.isfinite(self.timestep_s):
            raise SceneError(f"timestep_s must be a positive number, got {self.timestep_s}")


def _check_quat(quat: Sequence[float], what: str) -> None:
    q = np.asarray(quat, dtype=float)
    if q.shape != (4,) or not np.all(np.isfinite(q)) or abs(np.linalg.norm(q) - 1.0) > 1e-6:
        raise SceneError(f"{what} must be a unit quaternion (w, x, y, z), got {tuple(quat)}")


def _check_joint(joint: Joint, body: Body, parent: Body | None) -> None:
    if joint.type not in JOINT_TYPES:
        raise SceneError(f"joint {joint.name!r}: type {joint.type!r} not in {JOINT_TYPES}")
    if joint.type == "free" and parent is not None:
        raise SceneError(f"joint {joint.name!r}: a free joint is only allowed on a top-level body")
    if joint.type != "free" and np.linalg.norm(joint.axis) < 1e-9:
        raise SceneError(f"joint {joint.name!r}: axis must be non-zero")
    if joint.range is not None and joint.range[0] > joint.range[1]:
        raise SceneError(f"joint {joint.name!r}: range {joint.range} has lower > upper")


def _check_geom(geom: Geom, materials: set[str], scene: Scene) -> None:
    if geom.type not in GEOM_TYPES:
        raise SceneError(f"geom {geom.name!r}: type {geom.type!r} not in {GEOM_TYPES}")
    want = _GEOM_SIZE_LEN[geom.type]
    if geom.type == "mesh":
        if not geom.mesh:
            raise SceneError(f"geom {geom.name!r}: a mesh geom needs a mesh file")
        path = scene.resolve_mesh(geom.mesh)
        if not path.is_file():
            raise SceneError(f"geom {geom.name!r}: mesh file {str(path)!r} not found")
        if path.suffix.lower() not in (".obj", ".stl"):
            raise SceneError(f"geom {geom.name!r}: mesh {path.name!r} must be .obj or .stl")
    elif len(geom.size) != want or any(not math.isfinite(s) or s < 0 for s in geom.size):
        raise SceneError(f"geom {geom.name!r}: a {geom.type} needs {want} non-negative sizes, got {geom.size}")
    elif geom.type != "plane" and min(geom.size) <= 0:
        raise SceneError(f"geom {geom.name!r}: sizes must be > 0, got {geom.size}")
    if geom.material is not None and geom.material not in materials:
        raise SceneError(f"geom {geom.name!r}: unknown material {geom.material!r}")
    _check_quat(geom.quat, f"geom {geom.name!r} quat")
    if geom.friction < 0 or not 0 <= geom.restitution <= 1:
        raise SceneError(f"geom {geom.name!r}: friction must be >= 0 and restitution in [0, 1]")


# ---------------------------------------------------------------------------
# Mass properties, computed once here so that both engines get identical values.


def _primitive_mass_inertia(geom: Geom) -> tuple[float, np.ndarray]:
    """Mass [kg] and inertia tensor about the geom's centre, in the geom frame."""
    rho = geom.density_kg_m3
    if geom.type == "box":
        a, b, c = (2 * s for s in geom.size)
        m = rho * a * b * c
        return m, np.diag([m * (b * b + c * c), m * (a * a + c * c), m * (a * a + b * b)]) / 12
    if geom.type == "sphere":
        r = geom.size[0]
        m = rho * 4 / 3 * math.pi * r**3
        return m, np.eye(3) * 0.4 * m * r * r
    if geom.type == "cylinder":
        r, h = geom.size[0], 2 * geom.size[1]
        m = rho * math.pi * r * r * h
        ixx = m * (3 * r * r + h * h) / 12
        return m, np.diag([ixx, ixx, 0.5 * m * r * r])
    if geom.type == "capsule":
        r, h = geom.size[0], 2 * geom.size[1]
        mc = rho * math.pi * r * r * h
        ms = rho * 4 / 3 * math.pi * r**3
        izz = 0.5 * mc * r * r + 0.4 * ms * r * r
        # hemispheres: own inertia 0.4·m·r² about their centroid, shifted to the capsule centre
        ixx = mc * (3 * r * r + h * h) / 12 + ms * (0.4 * r * r + h * h / 4 + 3 * h * r / 8)
        return mc + ms, np.diag([ixx, ixx, izz])
    raise SceneError(f"geom {geom.name!r}: no analytic mass for type {geom.type!r}")


def _mesh_mass_inertia(geom: Geom, mesh_dir: Path | None) -> tuple[float, np.ndarray, np.ndarray]:
    """Mass, centre and inertia of a mesh geom's convex hull (what both engines collide with)."""
    from simsuite.meshes import load_mesh

    mesh = load_mesh(geom.mesh if mesh_dir is None else mesh_dir / geom.mesh, geom.mesh_scale)
    hull = mesh.convex_hull
    hull.density = geom.density_kg_m3
    return float(hull.mass), np.asarray(hull.center_mass), np.asarray(hull.moment_inertia)


def compute_inertial(geoms: Sequence[Geom], mesh_dir: Path | None = None) -> Inertial:
    """Combine the colliding geoms' mass properties in the body frame, then diagonalize."""
    total_m, com_sum, parts = 0.0, np.zeros(3), []
    for geom in geoms:
        if not geom.collide or geom.type == "plane":
            continue
        rot = quat_to_mat(geom.quat)
        if geom.type == "mesh":
            m, c_local, inertia = _mesh_mass_inertia(geom, mesh_dir)
        else:
            (m, inertia), c_local = _primitive_mass_inertia(geom), np.zeros(3)
        centre = np.asarray(geom.pos) + rot @ c_local
        parts.append((m, centre, rot @ inertia @ rot.T))
        total_m += m
        com_sum += m * centre
    if total_m <= 0:
        raise SceneError("cannot compute mass properties: no colliding geom with volume")
    com = com_sum / total_m
    tensor = np.zeros((3, 3))
    for m, centre, inertia in parts:
        d = centre - com
        tensor += inertia + m * (np.dot(d, d) * np.eye(3) - np.outer(d, d))
    if np.allclose(tensor, np.diag(np.diag(tensor)), rtol=0, atol=1e-12 * max(1.0, np.abs(tensor).max())):
        eigvals, eigvecs = np.diag(tensor).copy(), np.eye(3)  # already principal: keep the body axes
    else:
        eigvals, eigvecs = np.linalg.eigh(tensor)
    if np.linalg.det(eigvecs) < 0:
        eigvecs[:, 0] *= -1
    eigvals = np.maximum(eigvals, 1e-12)
    return Inertial(
        mass_kg=total_m,
        diag_inertia=tuple(float(v) for v in eigvals),  # type: ignore[arg-type]
        pos=tuple(float(v) for v in com),  # type: ignore[arg-type]
        quat=mat_to_quat(eigvecs),
    )
