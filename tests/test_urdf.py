"""URDF loading into the neutral scene: pybullet_data robots and the errors at the door."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pybullet_data
import pytest

from simsuite.scene import Scene
from simsuite.transforms import quat_to_mat
from simsuite.urdf import TINY_MASS_KG, UrdfError, load_urdf

DATA = Path(pybullet_data.getDataPath())
PANDA = DATA / "franka_panda" / "panda.urdf"
KUKA = DATA / "kuka_iiwa" / "model.urdf"
RANDOM_OBJECT = DATA / "random_urdfs" / "000" / "000.urdf"

PANDA_LINKS = [f"panda_link{i}" for i in range(8)] + ["panda_hand", "panda_leftfinger", "panda_rightfinger"]
PANDA_JOINTS = [f"panda_joint{i}" for i in range(1, 8)] + ["panda_finger_joint1", "panda_finger_joint2"]


def write_urdf(tmp_path: Path, body: str, name: str = "robot.urdf") -> Path:
    path = tmp_path / name
    path.write_text(f'<?xml version="1.0"?>\n<robot name="test">\n{body}\n</robot>\n')
    return path


BOX_LINK = '<link name="{name}"><collision><geometry><box size="0.1 0.2 0.3"/></geometry></collision></link>'


def hinge(name: str, parent: str, child: str, extra: str = "") -> str:
    return (
        f'<joint name="{name}" type="revolute"><parent link="{parent}"/><child link="{child}"/>'
        f'<limit lower="-1" upper="1" effort="5"/>{extra}</joint>'
    )


# -- pybullet_data robots -------------------------------------------------------


@pytest.fixture(scope="module")
def panda():
    return load_urdf(PANDA, actuators="position", kp=200.0, kv=20.0)


def test_panda_keeps_link_and_joint_names(panda):
    assert set(PANDA_LINKS) <= set(panda.link_names)
    assert panda.link_names[0] == "panda_link0"
    assert panda.joint_names == PANDA_JOINTS
    assert panda.free_joint is None


def test_panda_joint_types_and_limits(panda):
    scene = Scene()
    scene.add(panda.root)
    joint1 = scene.body("panda_link1").joint
    assert joint1.name == "panda_joint1" and joint1.type == "hinge"
    assert joint1.range == pytest.approx((-2.9671, 2.9671))
    assert joint1.axis == (0.0, 0.0, 1.0)
    assert scene.body("panda_link4").joint.range == pytest.approx((-3.1416, 0.0))
    finger = scene.body("panda_leftfinger").joint
    assert finger.type == "slide" and finger.range == pytest.approx((0.0, 0.04))
    assert finger.axis == (0.0, 1.0, 0.0)
    assert scene.body("panda_rightfinger").joint.axis == (0.0, -1.0, 0.0)
    assert scene.body("panda_hand").joint is None  # fixed joint: welded
    # panda_joint2's origin rpy = (-pi/2, 0, 0)
    assert np.allclose(quat_to_mat(scene.body("panda_link2").quat), [[1, 0, 0], [0, 0, 1], [0, -1, 0]], atol=1e-9)
    assert scene.body("panda_link1").pos == pytest.approx((0, 0, 0.333))


def test_panda_geoms_inertials_and_actuators(panda):
    scene = Scene()
    scene.add(panda.root)
    link1 = scene.body("panda_link1")
    collide = [g for g in link1.geoms if g.collide]
    visual = [g for g in link1.geoms if not g.collide]
    assert [g.name for g in collide] == ["panda_link1_col0"] and [g.name for g in visual] == ["panda_link1_vis0"]
    assert Path(collide[0].mesh).is_file() and collide[0].mesh.endswith("collision/link1.obj")
    assert visual[0].rgba == (1.0, 1.0, 1.0, 1.0) and not collide[0].visible and visual[0].visible
    assert link1.inertial.mass_kg == pytest.approx(2.7)
    assert link1.inertial.pos == pytest.approx((0, -0.04, -0.05))
    assert scene.body("panda_link8").inertial.mass_kg == TINY_MASS_KG  # massless flange
    motors = {a.name: a for a in panda.actuators}
    assert list(motors) == [j + "_motor" for j in PANDA_JOINTS]
    assert motors["panda_joint1_motor"].force_range == (-87.0, 87.0)
    assert motors["panda_joint1_motor"].kp == 200.0 and motors["panda_joint1_motor"].kv == 20.0
    assert motors["panda_finger_joint1_motor"].ctrl_range == pytest.approx((0.0, 0.04))
    assert any("mimic" in w for w in panda.warnings)


def test_panda_scene_validates(panda):
    scene = Scene(name="panda")
    scene.add(panda.root)
    scene.actuators.extend(panda.actuators)
    scene.validate()


def test_prefix_and_pose_apply_to_every_name(tmp_path):
    model = load_urdf(PANDA, name_prefix="left_", pos=(1, 2, 0), actuators="torque")
    scene = Scene()
    scene.add(model.root)
    scene.actuators.extend(model.actuators)
    scene.validate()
    assert model.root.name == "left_panda_link0" and model.root.pos == (1.0, 2.0, 0.0)
    assert all(n.startswith("left_") for n in model.link_names + model.joint_names)
    assert model.actuators[0].name == "left_panda_joint1_motor" and model.actuators[0].joint == "left_panda_joint1"
    assert model.actuators[0].ctrl_range == (-87.0, 87.0)  # torque: command limited by effort


def test_kuka_loads_with_damping():
    model = load_urdf(KUKA, actuators="velocity")
    assert model.joint_names == [f"lbr_iiwa_joint_{i}" for i in range(1, 8)]
    scene = Scene()
    scene.add(model.root)
    scene.actuators.extend(model.actuators)
    scene.validate()
    assert scene.body("lbr_iiwa_link_1").joint.damping == 0.5
    assert model.actuators[0].ctrl_range == (-10.0, 10.0)  # velocity limit
    assert all(g.mesh.endswith((".obj", ".stl")) for b in model.root.walk() for g in b.geoms)


def test_random_object_floats_with_inertia_from_its_mesh():
    model = load_urdf(RANDOM_OBJECT, fixed_base=False, recompute_inertia=True)
    body = model.root
    assert body.joint is not None and body.joint.type == "free"
    assert model.free_joint == body.joint.name == "random_obj_000_free"
    assert body.inertial.mass_kg == pytest.approx(0.1)  # the URDF mass
    inertia = np.asarray(body.inertial.diag_inertia)
    assert np.all(inertia > 0) and np.all(inertia < 1e-2)  # the URDF says 1 kg·m², a placeholder
    assert inertia.sum() >= 2 * inertia.max() - 1e-12  # triangle inequality
    assert body.geoms[0].friction == 1.0  # from PyBullet's <contact>
    scene = Scene()
    scene.add(body)
    scene.validate()


def test_placeholder_inertia_is_kept_with_a_warning():
    model = load_urdf(RANDOM_OBJECT, fixed_base=False)
    assert model.root.inertial.diag_inertia[:2] == (1.0, 1.0)
    assert model.root.inertial.diag_inertia[2] > 0
    assert any("recompute_inertia" in w for w in model.warnings)


# -- conversion details -----------------------------------------------------------


def test_full_inertia_tensor_is_diagonalized(tmp_path):
    path = write_urdf(
        tmp_path,
        '<link name="base"><inertial><origin xyz="0.1 0 0" rpy="0 0 1.5707963267948966"/><mass value="2"/>'
        '<inertia ixx="2" ixy="1" ixz="0" iyy="2" iyz="0" izz="1"/></inertial></link>',
    )
    inertial = load_urdf(path).root.inertial
    rot = quat_to_mat(inertial.quat)
    tensor = rot @ np.diag(inertial.diag_inertia) @ rot.T
    yaw = quat_to_mat((math.cos(math.pi / 4), 0, 0, math.sin(math.pi / 4)))
    expected = yaw @ np.array([[2, 1, 0], [1, 2, 0], [0, 0, 1]]) @ yaw.T
    assert np.allclose(tensor, expected, atol=1e-9)
    assert sorted(inertial.diag_inertia) == pytest.approx([1, 1, 3])
    assert inertial.pos == pytest.approx((0.1, 0, 0))


def test_primitive_shapes_and_joint_kinds(tmp_path):
    path = write_urdf(
        tmp_path,
        '<material name="red"><color rgba="1 0 0 1"/></material>'
        + BOX_LINK.format(name="base")
        + '<link name="wheel"><collision><geometry><cylinder radius="0.05" length="0.02"/></geometry></collision>'
        '<visual><geometry><sphere radius="0.05"/></geometry><material name="red"/></visual></link>'
        '<link name="slider"><inertial><mass value="1"/><inertia ixx="1" iyy="1" izz="1" ixy="0" ixz="0" iyz="0"/></inertial></link>'
        '<joint name="spin" type="continuous"><parent link="base"/><child link="wheel"/><axis xyz="0 2 0"/>'
        '<dynamics damping="0.1"/></joint>'
        '<joint name="lift" type="prismatic"><parent link="base"/><child link="slider"/><axis xyz="0 0 1"/>'
        '<limit lower="0" upper="0.5" effort="10" velocity="1"/></joint>',
    )
    model = load_urdf(path)
    scene = Scene()
    scene.add(model.root)
    scene.validate()
    assert scene.body("base").geoms[0].size == pytest.approx((0.05, 0.1, 0.15))
    wheel = scene.body("wheel")
    assert wheel.joint.type == "hinge" and wheel.joint.range is None and wheel.joint.axis == (0.0, 1.0, 0.0)
    assert wheel.joint.damping == 0.1
    assert wheel.geoms[0].type == "cylinder" and wheel.geoms[0].size == pytest.approx((0.05, 0.01))
    assert wheel.geoms[1].rgba == (1.0, 0.0, 0.0, 1.0) and not wheel.geoms[1].collide
    assert wheel.inertial is None  # computed from the cylinder by the scene
    assert scene.body("slider").joint.type == "slide"


def test_floating_joint_from_world_link_makes_a_free_root(tmp_path):
    path = write_urdf(
        tmp_path,
        '<link name="world"/>' + BOX_LINK.format(name="base")
        + '<joint name="float" type="floating"><origin xyz="0 0 1"/><parent link="world"/><child link="base"/></joint>',
    )
    model = load_urdf(path, pos=(1, 0, 0))
    assert model.root.name == "base" and model.root.joint.type == "free" and model.root.joint.name == "float"
    assert model.root.pos == pytest.approx((1, 0, 1))
    assert model.link_names == ["base"]


def test_package_paths_and_dae_twins(tmp_path):
    package = tmp_path / "my_robot"
    (package / "urdf").mkdir(parents=True)
    (package / "meshes").mkdir()
    (package / "meshes" / "part.stl").write_bytes((DATA / "kuka_iiwa" / "meshes" / "link_1.stl").read_bytes())
    (package / "meshes" / "part.dae").write_text("<COLLADA/>")
    (package / "meshes" / "only.dae").write_text("<COLLADA/>")
    path = write_urdf(
        package / "urdf",
        '<link name="base"><collision><geometry><mesh filename="package://my_robot/meshes/part.dae" scale="0.5 0.5 0.5"/>'
        '</geometry></collision><visual><geometry><mesh filename="package://my_robot/meshes/only.dae"/></geometry></visual></link>',
    )
    model = load_urdf(path)
    (geom,) = model.root.geoms
    assert geom.mesh == str(package / "meshes" / "part.stl") and geom.mesh_scale == (0.5, 0.5, 0.5)
    assert any("only.dae" in w and "dropped" in w for w in model.warnings)


# -- errors at the door ---------------------------------------------------------------


def test_missing_file(tmp_path):
    with pytest.raises(UrdfError, match="not found"):
        load_urdf(tmp_path / "nope.urdf")


def test_malformed_xml(tmp_path):
    path = tmp_path / "bad.urdf"
    path.write_text("<robot><link name='a'></robot>")
    with pytest.raises(UrdfError, match=r"bad\.urdf: malformed XML"):
        load_urdf(path)


def test_not_a_robot(tmp_path):
    path = tmp_path / "sdf.urdf"
    path.write_text("<sdf/>")
    with pytest.raises(UrdfError, match="expected <robot>"):
        load_urdf(path)


def test_joint_with_unknown_parent_link(tmp_path):
    path = write_urdf(tmp_path, BOX_LINK.format(name="base") + hinge("j1", "ghost", "base"))
    with pytest.raises(UrdfError, match=r"robot\.urdf: joint 'j1' <parent link>: unknown link 'ghost'"):
        load_urdf(path)


@pytest.mark.parametrize(
    "body, match",
    [
        (BOX_LINK.format(name="a") + BOX_LINK.format(name="b"), "several root links"),
        (BOX_LINK.format(name="a") + BOX_LINK.format(name="b") + hinge("j1", "a", "b") + hinge("j2", "b", "a"), "cycle"),
        (
            BOX_LINK.format(name="r") + BOX_LINK.format(name="a") + BOX_LINK.format(name="b")
            + hinge("j0", "r", "a") + hinge("j1", "a", "b") + hinge("j2", "b", "a"),
            "already has parent joint",
        ),
        (
            BOX_LINK.format(name="a") + BOX_LINK.format(name="b")
            + '<joint name="j" type="planar"><parent link="a"/><child link="b"/></joint>',
            "'planar' is unsupported",
        ),
        (
            BOX_LINK.format(name="a") + BOX_LINK.format(name="b")
            + '<joint name="j" type="floating"><parent link="a"/><child link="b"/></joint>',
            "floating joint",
        ),
        (
            BOX_LINK.format(name="a") + BOX_LINK.format(name="b")
            + hinge("j", "a", "b", '<origin xyz="0 zero 0"/>'),
            r"joint 'j' <origin xyz>: expected 3",
        ),
        ('<link name="a"><inertial><mass value="-1"/></inertial></link>', r"link 'a' <inertial> <mass>"),
        ('<link name="a"><collision><geometry><box size="1 1"/></geometry></collision></link>', r"<box size>"),
        (
            '<link name="a"><collision><geometry><mesh filename="missing.stl"/></geometry></collision></link>',
            "'missing.stl' not found",
        ),
    ],
)
def test_bad_structure_and_numbers(tmp_path, body, match):
    with pytest.raises(UrdfError, match=match):
        load_urdf(write_urdf(tmp_path, body))


def test_free_root_without_mass_is_refused():
    with pytest.raises(UrdfError, match="needs a mass"):
        load_urdf(KUKA, fixed_base=False)  # lbr_iiwa_link_0 has mass 0 (static in PyBullet)


def test_bad_actuator_kind():
    with pytest.raises(ValueError, match="actuators must be"):
        load_urdf(PANDA, actuators="servo")  # type: ignore[arg-type]
