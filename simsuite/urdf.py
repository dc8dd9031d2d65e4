"""Load a robot from a URDF file into the backend-neutral scene model.

Both engines can read URDF themselves, but they disagree on details (``package://``
paths, massless links, mesh formats, inertia conventions). Reading it once here
into a :class:`~simsuite.scene.Body` tree means MuJoCo, PyBullet and the renderer
all see the same robot, with the URDF's link and joint names kept.

Mapping (see scene.py for the scene's conventions):

- link -> Body named ``prefix + link``; the child body's pose relative to its parent
  is the joint ``<origin>``, so the joint sits at the body frame origin, as URDF has it.
- revolute -> hinge (range from ``<limit>``); continuous -> unlimited hinge;
  prismatic -> slide; fixed -> no joint (welded); floating -> free joint, only from an
  empty root link such as ``world``; planar -> error.
- ``<collision>`` -> colliding Geom, not drawn (visible=False) when the link also has a
  visual; ``<visual>`` -> visual-only Geom coloured from its ``<material>``.
- ``<inertial>`` -> Inertial with the full tensor diagonalized; a massless link gets a
  tiny inertial so that the scene validates and engines stay well-conditioned.
"""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Mapping, Sequence

import numpy as np

from simsuite.scene import (
    ACTUATOR_KINDS,
    IDENTITY_QUAT,
    Actuator,
    ActuatorKind,
    Body,
    Geom,
    Inertial,
    Joint,
    JointType,
    Quat,
    SceneError,
    Vec3,
    compute_inertial,
)
from simsuite.transforms import mat_to_quat, quat_from_euler, quat_mul, quat_to_mat, rotate

Gain = float | Mapping[str, float]  # one value for every joint, or per URDF joint name

MESH_SUFFIXES = (".obj", ".stl")  # what the scene (and so both backends) can load
TINY_MASS_KG = 1e-6  # for massless frame links: negligible, but valid in both engines
TINY_INERTIA = 1e-9  # [kg·m²]
DEFAULT_RGBA = (0.7, 0.7, 0.7, 1.0)
_JOINT_TYPES: dict[str, JointType | None] = {
    "revolute": "hinge",
    "continuous": "hinge",
    "prismatic": "slide",
    "fixed": None,
    "floating": "free",
}


class UrdfError(ValueError):
    """A URDF that cannot be loaded; the message names the file and the element or field."""


@dataclass
class UrdfModel:
    """A loaded robot: add ``root`` to a Scene and ``actuators`` to ``Scene.actuators``."""

    name: str  # the <robot name>
    root: Body
    actuators: list[Actuator]
    joint_names: list[str]  # movable (hinge/slide) joints, depth first; excludes the free joint
    link_names: list[str]  # every body created, depth first
    free_joint: str | None = None  # name of the root's free joint, if it floats
    warnings: list[str] = field(default_factory=list)  # what was dropped or adjusted


@dataclass
class _JointSpec:
    """One parsed <joint>, before it becomes part of a Body."""

    name: str
    urdf_type: str
    parent: str
    child: str
    pos: Vec3
    quat: Quat
    axis: Vec3
    range: tuple[float, float] | None
    damping: float
    effort: float | None
    velocity: float | None


def load_urdf(
    path: str | Path,
    *,
    name_prefix: str = "",
    pos: Sequence[float] = (0.0, 0.0, 0.0),
    quat: Sequence[float] = IDENTITY_QUAT,
    fixed_base: bool = True,
    semantic_class: str = "robot",
    actuators: ActuatorKind | None = None,
    kp: Gain = 100.0,
    kv: Gain = 10.0,
    recompute_inertia: bool = False,
) -> UrdfModel:
    """Read the URDF at ``path`` into a Body tree posed at ``pos, quat`` in the world.

    ``fixed_base=False`` gives the root a free joint named ``prefix + root_link + "_free"``
    (a URDF ``floating`` joint from an empty root link makes it free regardless).
    ``actuators`` adds one actuator per movable joint, named ``prefix + joint + "_motor"``,
    with ``kp``/``kv`` (a number, or a mapping from URDF joint name to number) and the
    URDF ``<limit effort>`` as its force range. ``recompute_inertia=True`` keeps each
    link's URDF mass but takes its centre of mass and inertia from the collision
    geometry, for files whose inertia is a placeholder (pybullet_data's random_urdfs).
    """
    if actuators is not None and actuators not in ACTUATOR_KINDS:
        raise ValueError(f"actuators must be None or one of {ACTUATOR_KINDS}, got {actuators!r}")
    loader = _UrdfLoader(Path(path), name_prefix, semantic_class, recompute_inertia)
    model = loader.load(pos, quat, fixed_base)
    if actuators is not None:
        model.actuators = loader.make_actuators(actuators, kp, kv)
    return model


class _UrdfLoader:
    """Holds the file, the prefix and the warnings while one URDF is turned into bodies."""

    def __init__(self, path: Path, prefix: str, semantic_class: str, recompute_inertia: bool) -> None:
        self.path = path
        self.dir = path.resolve().parent
        self.prefix = prefix
        self.semantic_class = semantic_class
        self.recompute_inertia = recompute_inertia
        self.warnings: list[str] = []
        self.colors: dict[str, tuple[float, float, float, float]] = {}
        self.movable: list[_JointSpec] = []

    # -- errors and numbers --------------------------------------------------
    def error(self, where: str, message: str) -> UrdfError:
        return UrdfError(f"{self.path}: {where}: {message}")

    def floats(self, elem: ET.Element | None, attr: str, n: int, default: Sequence[float], where: str) -> tuple[float, ...]:
        """``n`` finite numbers from an attribute, or ``default`` when element or attribute is absent."""
        text = None if elem is None else elem.get(attr)
        if text is None:
            return tuple(float(v) for v in default)
        try:
            values = tuple(float(v) for v in text.split())
        except ValueError:
            values = ()
        if n == 3 and len(values) == 1 and attr == "scale":
            values = values * 3  # a uniform mesh scale written as one number
        if len(values) != n or not all(math.isfinite(v) for v in values):
            raise self.error(f"{where} <{elem.tag} {attr}>", f"expected {n} finite number(s), got {text!r}")
        return values

    def number(self, elem: ET.Element | None, attr: str, default: float | None, where: str) -> float | None:
        if elem is None or elem.get(attr) is None:
            return default
        return self.floats(elem, attr, 1, (), where)[0]

    def origin(self, parent: ET.Element, where: str) -> tuple[Vec3, Quat]:
        """Pose of an ``<origin xyz rpy>`` child (identity when absent)."""
        elem = parent.find("origin")
        xyz = self.floats(elem, "xyz", 3, (0, 0, 0), where)
        rpy = self.floats(elem, "rpy", 3, (0, 0, 0), where)
        return xyz, quat_from_euler(*rpy)  # type: ignore[return-value]

    # -- top level -----------------------------------------------------------
    def parse(self) -> ET.Element:
        if not self.path.is_file():
            raise UrdfError(f"{self.path}: URDF file not found")
        try:
            robot = ET.parse(self.path).getroot()
        except ET.ParseError as exc:
            raise UrdfError(f"{self.path}: malformed XML: {exc}") from exc
        if robot.tag != "robot":
            raise UrdfError(f"{self.path}: root element is <{robot.tag}>, expected <robot>")
        return robot

    def load(self, pos: Sequence[float], quat: Sequence[float], fixed_base: bool) -> UrdfModel:
        robot = self.parse()
        links = self.parse_links(robot)
        joints = [self.parse_joint(j, links) for j in robot.findall("joint")]
        self.collect_colors(robot)
        root_name, children = self.build_tree(links, joints)
        root_name, root_pos, root_quat, root_joint = self.root_frame(root_name, joints, children, links, pos, quat, fixed_base)
        root = self.make_body(links[root_name], root_pos, root_quat, root_joint)
        self.check_free_root_mass(root, root_name)
        self.grow(root, root_name, children, links)
        movable = {self.prefix + j.name: j for j in joints if _JOINT_TYPES[j.urdf_type] in ("hinge", "slide")}
        joint_names = [b.joint.name for b in root.walk() if b.joint is not None and b.joint.name in movable]
        self.movable = [movable[n] for n in joint_names]
        return UrdfModel(
            name=robot.get("name", self.path.stem),
            root=root,
            actuators=[],
            joint_names=joint_names,
            link_names=[b.name for b in root.walk()],
            free_joint=root_joint.name if root_joint is not None else None,
            warnings=self.warnings,
        )

    def root_frame(
        self,
        root: str,
        joints: Sequence[_JointSpec],
        children: dict[str, list[_JointSpec]],
        links: Mapping[str, ET.Element],
        pos: Sequence[float],
        quat: Sequence[float],
        fixed_base: bool,
    ) -> tuple[str, Vec3, Quat, Joint | None]:
        """The root link, its world pose and its free joint (if it floats)."""
        root_pos: Vec3 = tuple(float(v) for v in pos)  # type: ignore[assignment]
        root_quat: Quat = tuple(float(v) for v in quat)  # type: ignore[assignment]
        floating = [j for j in joints if j.urdf_type == "floating"]
        if floating:
            root, root_pos, root_quat = self.drop_floating_root(root, floating, children, links, root_pos, root_quat)
            return root, root_pos, root_quat, Joint(self.prefix + floating[0].name, "free")
        if not fixed_base:
            return root, root_pos, root_quat, Joint(self.prefix + root + "_free", "free")
        return root, root_pos, root_quat, None

    def grow(self, root: Body, root_link: str, children: Mapping[str, list[_JointSpec]], links: Mapping[str, ET.Element]) -> None:
        """Attach every descendant link below ``root``, children in document order."""
        pending: list[tuple[Body, str]] = [(root, root_link)]
        while pending:
            parent_body, parent_link = pending.pop()
            for spec in children.get(parent_link, []):
                body = self.make_body(links[spec.child], spec.pos, spec.quat, self.make_joint(spec))
                parent_body.children.append(body)
                pending.append((body, spec.child))

    def parse_links(self, robot: ET.Element) -> dict[str, ET.Element]:
        links: dict[str, ET.Element] = {}
        for elem in robot.findall("link"):
            name = elem.get("name")
            if not name:
                raise self.error("<link>", "missing name attribute")
            if name in links:
                raise self.error(f"link {name!r}", "duplicate link name")
            links[name] = elem
        if not links:
            raise self.error("<robot>", "has no <link>")
        return links

    def collect_colors(self, robot: ET.Element) -> None:
        """Named colours: top-level materials first, then those defined inline in visuals
        (URDF readers treat both as global, and files like panda.urdf rely on it)."""
        for elem in list(robot.findall("material")) + list(robot.iter("material")):
            name, color = elem.get("name"), elem.find("color")
            if name and color is not None and name not in self.colors:
                self.colors[name] = self.floats(color, "rgba", 4, (), f"material {name!r}")  # type: ignore[assignment]

    # -- joints and the tree -------------------------------------------------
    def parse_joint(self, elem: ET.Element, links: Mapping[str, ET.Element]) -> _JointSpec:
        name = elem.get("name")
        if not name:
            raise self.error("<joint>", "missing name attribute")
        where = f"joint {name!r}"
        urdf_type = elem.get("type", "")
        if urdf_type == "planar":
            raise self.error(where, "joint type 'planar' is unsupported")
        if urdf_type not in _JOINT_TYPES:
            raise self.error(where, f"type {urdf_type!r} not in {sorted(_JOINT_TYPES)} (planar is unsupported)")
        parent, child = (self.link_ref(elem, tag, where, links) for tag in ("parent", "child"))
        pos, quat = self.origin(elem, where)
        axis = np.asarray(self.floats(elem.find("axis"), "xyz", 3, (1, 0, 0), where))
        if _JOINT_TYPES[urdf_type] in ("hinge", "slide") and np.linalg.norm(axis) < 1e-9:
            raise self.error(f"{where} <axis xyz>", "axis must be non-zero")
        if elem.find("mimic") is not None:
            self.warnings.append(f"{where}: <mimic> ignored (the scene has no joint coupling); it moves on its own")
        limit = elem.find("limit")
        damping = self.number(elem.find("dynamics"), "damping", 0.0, where) or 0.0
        if damping < 0:
            raise self.error(f"{where} <dynamics damping>", f"must be >= 0, got {damping}")
        return _JointSpec(
            name=name,
            urdf_type=urdf_type,
            parent=parent,
            child=child,
            pos=pos,
            quat=quat,
            axis=tuple(float(v) for v in axis / max(np.linalg.norm(axis), 1e-12)),  # type: ignore[arg-type]
            range=self.joint_range(limit, urdf_type, where),
            damping=damping,
            effort=self.number(limit, "effort", None, where),
            velocity=self.number(limit, "velocity", None, where),
        )

    def link_ref(self, joint: ET.Element, tag: str, where: str, links: Mapping[str, ET.Element]) -> str:
        elem = joint.find(tag)
        link = None if elem is None else elem.get("link")
        if not link:
            raise self.error(f"{where} <{tag}>", "missing link attribute")
        if link not in links:
            raise self.error(f"{where} <{tag} link>", f"unknown link {link!r}")
        return link

    def joint_range(self, limit: ET.Element | None, urdf_type: str, where: str) -> tuple[float, float] | None:
        """Range of a revolute or prismatic joint; unlimited when ``<limit>`` gives no bounds."""
        if urdf_type not in ("revolute", "prismatic"):
            return None
        lower = self.number(limit, "lower", None, where)
        upper = self.number(limit, "upper", None, where)
        if lower is None and upper is None:
            self.warnings.append(f"{where}: {urdf_type} joint without <limit lower upper>; left unlimited")
            return None
        lower, upper = lower or 0.0, upper or 0.0  # URDF's default for a missing bound
        if lower > upper:
            raise self.error(f"{where} <limit>", f"lower {lower} > upper {upper}")
        return (lower, upper)

    def build_tree(self, links: Mapping[str, ET.Element], joints: Sequence[_JointSpec]) -> tuple[str, dict[str, list[_JointSpec]]]:
        """The root link and each link's child joints; rejects several roots and cycles."""
        parent_joint: dict[str, _JointSpec] = {}
        children: dict[str, list[_JointSpec]] = {}
        names: set[str] = set()
        for spec in joints:
            if spec.name in names:
                raise self.error(f"joint {spec.name!r}", "duplicate joint name")
            names.add(spec.name)
            if spec.child in parent_joint:
                other = parent_joint[spec.child].name
                raise self.error(f"joint {spec.name!r} <child>", f"link {spec.child!r} already has parent joint {other!r}")
            parent_joint[spec.child] = spec
            children.setdefault(spec.parent, []).append(spec)
        roots = [name for name in links if name not in parent_joint]
        if not roots:
            raise self.error("<robot>", "no root link: the joints form a cycle")
        if len(roots) > 1:
            raise self.error("<robot>", f"several root links {roots}; a URDF must be a single tree")
        reached = _descendants(roots[0], children)
        if len(reached) != len(links):
            stray = sorted(set(links) - reached)
            raise self.error("<robot>", f"links {stray} are not reachable from root {roots[0]!r}: the joints form a cycle")
        return roots[0], children

    def drop_floating_root(
        self,
        root: str,
        floating: Sequence[_JointSpec],
        children: dict[str, list[_JointSpec]],
        links: Mapping[str, ET.Element],
        pos: Sequence[float],
        quat: Sequence[float],
    ) -> tuple[str, Vec3, Quat]:
        """A floating joint from an empty root link (like ``world``) makes its child the
        free-floating root; anywhere else it would need a free joint inside a tree."""
        spec = floating[0]
        where = f"joint {spec.name!r}"
        if len(floating) > 1 or spec.parent != root or len(children.get(root, [])) != 1:
            raise self.error(where, "a floating joint is only supported as the single joint of the root link")
        if any(links[root].find(tag) is not None for tag in ("inertial", "visual", "collision")):
            raise self.error(where, f"a floating joint's parent {root!r} must be an empty link (like 'world')")
        new_pos = np.asarray(pos, dtype=float) + rotate(quat, spec.pos)
        new_quat = quat_mul(quat, spec.quat)
        return spec.child, tuple(float(v) for v in new_pos), tuple(float(v) for v in new_quat)  # type: ignore[return-value]

    def make_joint(self, spec: _JointSpec) -> Joint | None:
        kind = _JOINT_TYPES[spec.urdf_type]
        if kind is None:
            return None
        return Joint(self.prefix + spec.name, kind, axis=spec.axis, range=spec.range, damping=spec.damping)

    # -- links ----------------------------------------------------------------
    def make_body(self, link: ET.Element, pos: Sequence[float], quat: Sequence[float], joint: Joint | None) -> Body:
        name = link.get("name", "")
        visuals = self.visual_geoms(link, name)
        collisions = self.collision_geoms(link, name, hidden=bool(visuals))
        return Body(
            name=self.prefix + name,
            pos=tuple(float(v) for v in pos),  # type: ignore[arg-type]
            quat=tuple(float(v) for v in quat),  # type: ignore[arg-type]
            joint=joint,
            geoms=collisions + visuals,
            inertial=self.link_inertial(link, name, collisions),
            semantic_class=self.semantic_class,
        )

    def check_free_root_mass(self, root: Body, link: str) -> None:
        """A free root must have real mass: PyBullet reads a zero-mass base as static."""
        if root.is_free and root.inertial is not None and root.inertial.mass_kg <= TINY_MASS_KG:
            raise self.error(f"link {link!r} <inertial>", "a free-floating root needs a mass > 0; use fixed_base=True")

    def collision_geoms(self, link: ET.Element, link_name: str, hidden: bool) -> list[Geom]:
        """Colliding geoms; not drawn when the link has visuals to draw instead."""
        contact = self.contact_params(link, link_name)
        geoms = []
        for i, elem in enumerate(link.findall("collision")):
            geom = self.geom(elem, f"{link_name}_col{i}", f"link {link_name!r} <collision> {i}", collide=True)
            if geom is None:
                continue
            geom.rgba = DEFAULT_RGBA
            geom.visible = not hidden
            for key, value in contact.items():
                setattr(geom, key, value)
            geoms.append(geom)
        return geoms

    def visual_geoms(self, link: ET.Element, link_name: str) -> list[Geom]:
        geoms = []
        for i, elem in enumerate(link.findall("visual")):
            geom = self.geom(elem, f"{link_name}_vis{i}", f"link {link_name!r} <visual> {i}", collide=False)
            if geom is not None:
                geom.rgba = self.visual_rgba(elem, f"link {link_name!r} <visual> {i}")
                geoms.append(geom)
        return geoms

    def visual_rgba(self, visual: ET.Element, where: str) -> tuple[float, float, float, float]:
        material = visual.find("material")
        if material is None:
            return DEFAULT_RGBA
        color = material.find("color")
        if color is not None:
            return self.floats(color, "rgba", 4, (), where)  # type: ignore[return-value]
        name = material.get("name", "")
        if name not in self.colors and material.find("texture") is None:
            self.warnings.append(f"{where}: material {name!r} has no colour; using the default")
        return self.colors.get(name, DEFAULT_RGBA)

    def contact_params(self, link: ET.Element, link_name: str) -> dict[str, float]:
        """PyBullet's ``<contact>`` extension (friction, restitution) for the link's collision geoms."""
        contact = link.find("contact")
        if contact is None:
            return {}
        fields = {
            "lateral_friction": "friction",
            "rolling_friction": "rolling_friction",
            "spinning_friction": "torsional_friction",
            "restitution": "restitution",
        }
        where = f"link {link_name!r} <contact>"
        params = {}
        for tag, attr in fields.items():
            value = self.number(contact.find(tag), "value", None, where)
            if value is not None:
                params[attr] = value
        return params

    def geom(self, elem: ET.Element, name: str, where: str, collide: bool) -> Geom | None:
        """One visual or collision element as a Geom; None when a visual mesh must be dropped."""
        geometry = elem.find("geometry")
        shape = None if geometry is None else next(iter(geometry), None)
        if shape is None:
            raise self.error(where, "missing <geometry> shape")
        pos, quat = self.origin(elem, where)
        geom = Geom(name=self.prefix + name, type="box", pos=pos, quat=quat, collide=collide)
        where = f"{where} <{shape.tag}>"
        if shape.tag == "box":
            geom.size = tuple(s / 2 for s in self.required(shape, "size", 3, where))
        elif shape.tag == "sphere":
            geom.type, geom.size = "sphere", self.required(shape, "radius", 1, where)
        elif shape.tag in ("cylinder", "capsule"):  # capsule: PyBullet's extension
            radius, length = self.required(shape, "radius", 1, where) + self.required(shape, "length", 1, where)
            geom.type, geom.size = shape.tag, (radius, length / 2)  # type: ignore[assignment]
        elif shape.tag == "mesh":
            mesh = self.mesh_file(shape.get("filename", ""), where, collide)
            if mesh is None:
                return None
            geom.type, geom.mesh = "mesh", mesh
            geom.mesh_scale = self.floats(shape, "scale", 3, (1, 1, 1), where)  # type: ignore[assignment]
        else:
            raise self.error(where, f"unsupported geometry <{shape.tag}>")
        if geom.type != "mesh" and min(geom.size) <= 0:
            raise self.error(where, f"sizes must be > 0, got {geom.size}")
        return geom

    def required(self, elem: ET.Element, attr: str, n: int, where: str) -> tuple[float, ...]:
        if elem.get(attr) is None:
            raise self.error(f"{where}", f"missing attribute {attr!r}")
        return self.floats(elem, attr, n, (), where)

    # -- meshes ---------------------------------------------------------------
    def mesh_file(self, filename: str, where: str, collide: bool) -> str | None:
        """Absolute path of a loadable (.obj/.stl) mesh, trying an .obj/.stl twin for other
        formats. A visual that cannot be found or loaded is dropped with a warning; a
        collision mesh raises, since dropping it would change the physics."""
        if not filename:
            raise self.error(where, "missing filename")
        found = [p for p in self.mesh_candidates(filename) if p.is_file()]
        for path in found:
            for twin in _mesh_twins(path):
                if twin.is_file():
                    return str(twin)
        if found:
            problem = f"mesh {filename!r} is {found[0].suffix or 'extensionless'}; only .obj and .stl load, and no .obj/.stl twin was found next to it"
        else:
            problem = f"mesh {filename!r} not found (looked relative to {str(self.dir)!r} and its parents)"
        if collide:
            raise self.error(where, problem)
        self.warnings.append(f"{where}: {problem}; visual dropped")
        return None

    def mesh_candidates(self, filename: str) -> list[Path]:
        """Where a mesh may be: relative to the URDF; ``package://pkg/rest`` as ``rest`` next to
        the URDF, or as ``pkg/rest`` under the URDF's directory or any parent of it."""
        if filename.startswith("file://"):
            filename = filename[len("file://"):]
        if not filename.startswith("package://"):
            return [self.dir / filename]  # an absolute path stays absolute
        rest = filename[len("package://"):].lstrip("/")
        _, _, without_package = rest.partition("/")
        candidates = [self.dir / without_package] if without_package else []
        return candidates + [d / rest for d in (self.dir, *self.dir.parents)]

    # -- mass properties -----------------------------------------------------
    def link_inertial(self, link: ET.Element, name: str, collisions: list[Geom]) -> Inertial | None:
        """URDF inertial (diagonalized), recomputed from geometry on request; a tiny one for
        massless links, and None for a link with collision geoms but no <inertial>."""
        elem = link.find("inertial")
        if elem is None:
            return None if collisions else _tiny_inertial()
        where = f"link {name!r} <inertial>"
        mass = self.number(elem.find("mass"), "value", 0.0, where) or 0.0
        if mass < 0:
            raise self.error(f"{where} <mass>", f"mass must be >= 0, got {mass}")
        if mass == 0:
            return _tiny_inertial()  # URDF's massless frame links (flanges, grasp targets)
        if self.recompute_inertia:
            if collisions:
                return self.inertial_from_geoms(collisions, mass, where)
            self.warnings.append(f"{where}: no collision geometry to recompute inertia from; kept the URDF's")
        return self.urdf_inertial(elem, mass, where)

    def urdf_inertial(self, elem: ET.Element, mass: float, where: str) -> Inertial:
        """Principal axes of the URDF tensor, rotated by the inertial origin's rpy."""
        pos, quat = self.origin(elem, where)
        inertia = elem.find("inertia")
        i = {k: self.number(inertia, k, 0.0, where) or 0.0 for k in ("ixx", "ixy", "ixz", "iyy", "iyz", "izz")}
        tensor = np.array([[i["ixx"], i["ixy"], i["ixz"]], [i["ixy"], i["iyy"], i["iyz"]], [i["ixz"], i["iyz"], i["izz"]]])
        diag, axes = _principal(tensor)
        if np.any(diag <= 0) or 2 * diag.max() > diag.sum() * (1 + 1e-6):
            self.warnings.append(
                f"{where}: principal inertia {_vec(diag)} is not physical (a zero moment or A + B < C); "
                "non-positive moments raised to 1e-9, consider recompute_inertia=True"
            )
            diag = np.maximum(diag, TINY_INERTIA)
        return Inertial(mass, _vec(diag), pos, mat_to_quat(quat_to_mat(quat) @ axes))  # type: ignore[arg-type]

    def inertial_from_geoms(self, geoms: Sequence[Geom], mass: float, where: str) -> Inertial:
        """The geometry's centre and inertia at uniform density, scaled to the URDF mass."""
        try:
            shape = compute_inertial(geoms)
        except (SceneError, ValueError) as exc:
            raise self.error(where, f"cannot recompute inertia from the collision geometry: {exc}") from exc
        scale = mass / shape.mass_kg
        return Inertial(mass, _vec(np.asarray(shape.diag_inertia) * scale), shape.pos, shape.quat)

    # -- actuators ------------------------------------------------------------
    def make_actuators(self, kind: ActuatorKind, kp: Gain, kv: Gain) -> list[Actuator]:
        """One actuator per movable joint; the URDF effort limit clips its force."""
        result = []
        for spec in self.movable:
            force = (-spec.effort, spec.effort) if spec.effort and spec.effort > 0 else None
            speed = (-spec.velocity, spec.velocity) if spec.velocity and spec.velocity > 0 else None
            act = Actuator(self.prefix + spec.name + "_motor", self.prefix + spec.name, kind, force_range=force)
            if kind == "position":
                act.kp, act.kv, act.ctrl_range = _gain(kp, spec.name), _gain(kv, spec.name), spec.range
            elif kind == "velocity":
                act.kv, act.ctrl_range = _gain(kv, spec.name), speed
            else:
                act.ctrl_range = force
            result.append(act)
        return result


# ---------------------------------------------------------------------------
# Small pure helpers.


def _descendants(root: str, children: Mapping[str, Sequence[_JointSpec]]) -> set[str]:
    seen, stack = {root}, [root]
    while stack:
        for spec in children.get(stack.pop(), []):
            if spec.child not in seen:
                seen.add(spec.child)
                stack.append(spec.child)
    return seen


def _mesh_twins(path: Path) -> list[Path]:
    """``path`` itself if the scene can load it, else same-stem .obj/.stl files beside it."""
    if path.suffix.lower() in MESH_SUFFIXES:
        return [path]
    return [path.with_suffix(s) for s in MESH_SUFFIXES + tuple(s.upper() for s in MESH_SUFFIXES)]


def _principal(tensor: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Principal moments and a right-handed axis matrix; a diagonal tensor keeps its axes."""
    if np.allclose(tensor, np.diag(np.diag(tensor)), rtol=0, atol=1e-12 * max(1.0, np.abs(tensor).max())):
        return np.diag(tensor).copy(), np.eye(3)
    diag, axes = np.linalg.eigh(tensor)
    if np.linalg.det(axes) < 0:
        axes[:, 0] *= -1
    return np.maximum(diag, 0.0), axes


def _tiny_inertial() -> Inertial:
    return Inertial(TINY_MASS_KG, (TINY_INERTIA,) * 3)  # type: ignore[arg-type]


def _vec(values: Iterable[float]) -> tuple[float, ...]:
    return tuple(float(v) for v in values)


def _gain(gain: Gain, joint: str) -> float:
    if isinstance(gain, Mapping):
        if joint not in gain:
            raise ValueError(f"no gain given for joint {joint!r}; the mapping has {sorted(gain)}")
        return float(gain[joint])
    return float(gain)
