"""simsuite.kinematics: forward kinematics, Jacobians, gravity torques and DLS IK computed
from the scene, checked against both engines and against finite differences."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from simsuite.kinematics import KinematicsError, KinematicTree, rotation_error
from simsuite.scene import Body, Geom, Inertial, Joint, Scene
from simsuite.transforms import quat_from_euler, quat_to_mat
from simsuite.urdf import load_urdf

pybullet_data = pytest.importorskip("pybullet_data")
PANDA = Path(pybullet_data.getDataPath()) / "franka_panda" / "panda.urdf"
EE = "panda_grasptarget"
READY = np.array([0.0, -0.785, 0.0, -2.356, 0.0, 1.571, 0.785, 0.04, 0.04])


def panda_scene(torque: bool = False) -> Scene:
    """The Panda on a yawed, raised base, so no frame is the identity by accident."""
    model = load_urdf(PANDA, pos=(0.1, -0.2, 0.4), quat=quat_from_euler(0.0, 0.0, 0.3), actuators="torque" if torque else "position")
    scene = Scene(name="panda", timestep_s=0.001)
    scene.add(model.root)
    scene.actuators.extend(model.actuators)
    return scene


def branched_scene() -> Scene:
    """A small tree with a slide joint, a branch, welded bodies and tilted axes."""
    link = lambda name, pos, quat, joint, com: Body(  # noqa: E731
        name, pos=pos, quat=quat, joint=joint, geoms=[Geom(f"{name}_g", "sphere", (0.02,))],
        inertial=Inertial(0.5, (1e-3, 1e-3, 1e-3), pos=com),
    )
    base = Body("base", pos=(0.2, 0.1, 0.5), quat=quat_from_euler(0.1, -0.2, 0.4), geoms=[Geom("base_g", "box", (0.05, 0.05, 0.05))])
    a = base.add(link("a", (0.0, 0.0, 0.1), quat_from_euler(0.3, 0.0, 0.0), Joint("ja", "hinge", axis=(0.0, 1.0, 1.0)), (0.05, 0.0, 0.0)))
    slide = a.add(link("s", (0.2, 0.0, 0.0), quat_from_euler(0.0, 0.5, 0.0), Joint("js", "slide", axis=(1.0, 0.0, 0.0), range=(-0.1, 0.1)), (0.0, 0.02, 0.0)))
    welded = slide.add(Body("w", pos=(0.0, 0.1, 0.0), quat=quat_from_euler(0.0, 0.0, 0.7), geoms=[Geom("w_g", "sphere", (0.02,))]))
    welded.add(link("tip", (0.1, 0.0, 0.0), quat_from_euler(0.2, 0.1, 0.0), Joint("jt", "hinge", axis=(0.0, 0.0, 1.0)), (0.03, 0.0, 0.01)))
    a.add(link("branch", (0.0, 0.1, 0.0), quat_from_euler(0.0, 0.0, -0.4), Joint("jb", "hinge", axis=(1.0, 0.0, 0.0)), (0.0, 0.0, 0.04)))
    scene = Scene(name="branched", timestep_s=0.001)
    scene.add(base)
    return scene


def random_q(tree: KinematicTree, rng: np.random.Generator) -> np.ndarray:
    lo, hi = np.clip(tree.joint_ranges[:, 0], -2.0, None), np.clip(tree.joint_ranges[:, 1], None, 2.0)
    return rng.uniform(lo, hi)


@pytest.mark.parametrize("scene_fn, root", [(panda_scene, "panda_link0"), (branched_scene, "base")])
def test_forward_kinematics_matches_the_engine(make, scene_fn, root):
    scene = scene_fn()
    tree = KinematicTree(scene, root)
    backend = make(scene)
    rng = np.random.default_rng(0)
    for _ in range(3):
        q = random_q(tree, rng)
        for name, value in zip(tree.joint_names, q):
            backend.set_joint_position(name, float(value))
        pos, rot = tree.forward(q)
        engine_pos, engine_quat = backend.body_poses()
        for i, name in enumerate(tree.body_names):
            row = backend.body_index(name)
            assert np.allclose(pos[i], engine_pos[row], atol=1e-9), name
            assert np.allclose(rot[i], quat_to_mat(engine_quat[row]), atol=1e-9), name


@pytest.mark.parametrize("scene_fn, root, body", [(panda_scene, "panda_link0", EE), (branched_scene, "base", "tip")])
def test_jacobian_matches_finite_differences(scene_fn, root, body):
    tree = KinematicTree(scene_fn(), root)
    q = random_q(tree, np.random.default_rng(1))
    point = (0.01, -0.02, 0.03)
    tip, rot, jac = tree.jacobian(q, body, point)
    eps = 1e-6
    for j in range(tree.n_joints):
        dq = np.zeros(tree.n_joints)
        dq[j] = eps
        tip2, rot2 = tree.body_pose(q + dq, body, point)
        assert np.allclose((tip2 - tip) / eps, jac[:3, j], atol=1e-5)
        assert np.allclose(rotation_error(rot2, rot) / eps, jac[3:, j], atol=1e-5)


@pytest.mark.parametrize("scene_fn, root", [(panda_scene, "panda_link0"), (branched_scene, "base")])
def test_gravity_torques_are_the_gradient_of_potential_energy(scene_fn, root):
    scene = scene_fn()
    tree = KinematicTree(scene, root)
    bodies = {b.name: b for b, _, _ in scene.walk()}
    g = 9.81

    def potential(q: np.ndarray) -> float:
        pos, rot = tree.forward(q)
        total = 0.0
        for i, name in enumerate(tree.body_names[1:], start=1):
            inertial = bodies[name].mass_properties()
            total += inertial.mass_kg * g * (pos[i] + rot[i] @ np.asarray(inertial.pos))[2]
        return total

    q = random_q(tree, np.random.default_rng(2))
    tau = tree.gravity_torques(q)
    eps = 1e-6
    numeric = [(potential(q + eps * e) - potential(q - eps * e)) / (2 * eps) for e in np.eye(tree.n_joints)]
    assert np.allclose(tau, numeric, atol=1e-6)


def test_gravity_torques_hold_the_panda_still_on_the_engine(make):
    """Feed-forward gravity torques alone keep the arm where it is (no feedback at all)."""
    scene = panda_scene(torque=True)
    tree = KinematicTree(scene, "panda_link0")
    backend = make(scene)
    q = READY + np.r_[0.3, 0.4, -0.2, 0.3, 0.5, -0.3, 0.2, 0.0, 0.0]
    for name, value in zip(tree.joint_names, q):
        backend.set_joint_position(name, float(value))
    motors = {a.joint: a.name for a in scene.actuators}
    tau = tree.gravity_torques(q)
    backend.set_controls({motors[j]: t for j, t in zip(tree.joint_names, tau)})
    backend.step(100)  # 0.1 s: without compensation the arm would fall by ~0.1 rad
    now, _ = backend.joint_states(tree.joint_names)
    assert np.abs(now - q).max() < 2e-3


def test_ik_reaches_poses_of_random_configurations_within_limits():
    tree = KinematicTree(panda_scene(), "panda_link0")
    arm = tree.joint_indices([f"panda_joint{i}" for i in range(1, 8)])
    rng = np.random.default_rng(3)
    for _ in range(5):
        goal_q = READY.copy()
        goal_q[arm] += rng.uniform(-0.5, 0.5, 7)
        goal_q = np.clip(goal_q, tree.joint_ranges[:, 0], tree.joint_ranges[:, 1])
        target, target_rot = tree.body_pose(goal_q, EE)
        result = tree.solve_ik(READY, EE, target, target_rot, active=arm, max_iterations=100)
        assert result.position_error_m < 1e-4 and result.rotation_error_rad < 1e-3
        assert np.all(result.q >= tree.joint_ranges[:, 0]) and np.all(result.q <= tree.joint_ranges[:, 1])
        assert np.array_equal(result.q[7:], READY[7:]), "inactive joints must not move"
        reached, reached_rot = tree.body_pose(result.q, EE)  # the reported error is at the returned q
        assert np.linalg.norm(reached - target) == pytest.approx(result.position_error_m)
        assert np.allclose(result.frames, tree.frames(result.q))


def test_ik_respects_joint_limits_for_unreachable_targets():
    tree = KinematicTree(panda_scene(), "panda_link0")
    result = tree.solve_ik(READY, EE, (3.0, 0.0, 0.5), max_iterations=30)
    assert result.position_error_m > 1.0
    assert np.all(result.q >= tree.joint_ranges[:, 0] - 1e-12) and np.all(result.q <= tree.joint_ranges[:, 1] + 1e-12)


def test_rotation_error_recovers_axis_angle_including_half_turns():
    rng = np.random.default_rng(4)
    for angle in (1e-8, 0.3, 2.0, math.pi - 1e-6, math.pi):
        axis = rng.normal(size=3)
        axis /= np.linalg.norm(axis)
        k = np.array([[0, -axis[2], axis[1]], [axis[2], 0, -axis[0]], [-axis[1], axis[0], 0]])
        turn = np.eye(3) + math.sin(angle) * k + (1 - math.cos(angle)) * k @ k
        base = quat_to_mat(quat_from_euler(0.3, -0.2, 0.9))
        vec = rotation_error(turn @ base, base)
        assert np.linalg.norm(vec) == pytest.approx(angle, abs=1e-6)
        if angle > 1e-6:
            assert abs(abs(vec @ axis) - angle) < 1e-6


def test_errors_name_what_is_wrong():
    scene = panda_scene()
    with pytest.raises(KinematicsError, match="root 'nope' is not a top-level body"):
        KinematicTree(scene, "nope")
    tree = KinematicTree(scene, "panda_link0")
    with pytest.raises(KinematicsError, match="unknown body 'hand'"):
        tree.jacobian(READY, "hand")
    with pytest.raises(KinematicsError, match=r"q must have shape \(9,\)"):
        tree.frames(np.zeros(7))
    with pytest.raises(KinematicsError, match="unknown joints"):
        tree.joint_indices(["panda_joint9"])
    floating = Scene(name="free")
    floating.add(Body("ball", joint=Joint("ball_free", "free"), geoms=[Geom("ball_g", "sphere", (0.1,))]))
    with pytest.raises(KinematicsError, match="free joint"):
        KinematicTree(floating, "ball")
