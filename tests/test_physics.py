"""Each backend against analytic physics: free fall, pendulum period, sliding friction (in any
direction, by the friction cone), brakes."""

from __future__ import annotations

import math

import numpy as np
import pytest

from conftest import G, falling_sphere_scene, pendulum_scene, sliding_box_scene

from simsuite.scene import Actuator, Body, Inertial, Joint, Scene, SceneError


def test_free_fall_matches_semi_implicit_euler(make):
    dt, z0 = 0.002, 2.0
    backend = make(falling_sphere_scene(z0, dt))
    for n in (1, 10, 250):
        backend.reset()
        backend.step(n)
        z = backend.body_pose("ball")[0][2]
        exact = z0 - G * dt * dt * n * (n + 1) / 2
        assert abs(z - exact) < 1e-6, (n, z, exact)
    lin, ang = backend.body_velocity("ball")
    assert abs(lin[2] + G * dt * 250) < 1e-6 and np.allclose(ang, 0.0)


def test_pendulum_small_angle_period(make):
    length, dt = 1.0, 0.001
    backend = make(pendulum_scene(length, dt))
    backend.set_joint_position("swing", 0.05)
    angles = []
    for _ in range(int(6.0 / dt)):
        backend.step()
        angles.append(backend.joint_state("swing")[0])
    angles = np.asarray(angles)
    # times of downward zero crossings, linearly interpolated
    idx = np.flatnonzero((angles[:-1] > 0) & (angles[1:] <= 0))
    t = (idx + angles[idx] / (angles[idx] - angles[idx + 1]) + 1) * dt
    period = np.mean(np.diff(t))
    expected = 2 * math.pi * math.sqrt(length / G)
    assert abs(period / expected - 1) < 0.01, (period, expected)


def test_box_slides_with_deceleration_mu_g(make):
    mu, dt = 0.3, 0.001
    backend = make(sliding_box_scene(mu, dt))
    backend.step(200)  # settle on the floor
    mass = backend.get_param("box.mass_kg")
    for _ in range(200):  # shove it along +x for 0.2 s
        backend.apply_force("box", (3.0 * mu * mass * G, 0.0, 0.0))
        backend.step()
    v0 = backend.body_velocity("box")[0][0]
    backend.step(100)
    v1 = backend.body_velocity("box")[0][0]
    assert v1 > 0.05, "the box stopped too early for the measurement"
    decel = (v0 - v1) / (100 * dt)
    assert abs(decel / (mu * G) - 1) < 0.05, (decel, mu * G)


def test_floor_friction_scales_contact_friction(make):
    """Contact friction is the product of the two surfaces' coefficients on both engines."""
    dt = 0.001
    backend = make(sliding_box_scene(1.0, dt))
    backend.set_param("floor.friction", 0.25)
    backend.step(200)
    mass = backend.get_param("box.mass_kg")
    for _ in range(200):
        backend.apply_force("box", (0.75 * mass * G, 0.0, 0.0))
        backend.step()
    v0 = backend.body_velocity("box")[0][0]
    backend.step(100)
    decel = (v0 - backend.body_velocity("box")[0][0]) / (100 * dt)
    assert abs(decel / (0.25 * G) - 1) < 0.05


def flywheel_scene(inertia_kg_m2: float = 0.1, dt_s: float = 0.01) -> Scene:
    """A wheel on a vertical axle (no gravity torque, no contact) with a motor and a brake."""
    scene = Scene(name="flywheel", timestep_s=dt_s)
    scene.add(Body("wheel", pos=(0.0, 0.0, 1.0), joint=Joint("axle", "hinge", axis=(0.0, 0.0, 1.0)),
                   inertial=Inertial(1.0, (inertia_kg_m2, inertia_kg_m2, inertia_kg_m2))))
    scene.actuators += [Actuator("motor", "axle", "torque"), Actuator("brake", "axle", "brake", gear=2.0)]
    return scene


def test_brake_decelerates_at_torque_over_inertia_stops_and_holds(make):
    """Dry friction at the joint, solved as a constraint: −T/I until the wheel stops, then at
    rest (never turned backwards) while the motor stays under T, and T/I less acceleration
    above it. The gain parameter scales the brake torque."""
    inertia, dt = 0.1, 0.01
    backend = make(flywheel_scene(inertia, dt))
    backend.reset()
    backend.set_joint_position("axle", 0.0, 10.0)
    backend.set_controls({"brake": 1.0})  # gear 2: T = 2 N·m, −20 rad/s²
    speeds = []
    for _ in range(100):
        backend.step()
        speeds.append(backend.joint_state("axle")[1])
    assert abs((10.0 - speeds[24]) / (25 * dt) / (2.0 / inertia) - 1) < 0.02, speeds[24]
    assert abs(speeds[-1]) < 1e-3 and min(speeds) > -1e-3, (speeds[-1], min(speeds))
    backend.set_controls({"motor": 1.5})  # under the brake's 2 N·m: held (MuJoCo's soft constraint creeps)
    backend.step(50)
    assert abs(backend.joint_state("axle")[1]) < 2e-3
    backend.set_controls({"motor": 3.0})  # 1 N·m over it: 10 rad/s²
    backend.step(50)
    _, w0 = backend.joint_state("axle")
    backend.step(20)
    assert abs((backend.joint_state("axle")[1] - w0) / (20 * dt) / (1.0 / inertia) - 1) < 0.02
    backend.set_controls({"motor": 0.0})
    backend.set_param("brake.gain", 0.5)  # T = 1 N·m: −10 rad/s²
    _, w0 = backend.joint_state("axle")
    backend.step(10)
    assert abs((w0 - backend.joint_state("axle")[1]) / (10 * dt) / (1.0 / inertia) - 1) < 0.02


def test_brake_stops_within_a_coarse_step_without_reversing(make):
    """A brake 50× what the wheel needs to stop within one 50 ms step: it stops (to 1 % of its
    speed on MuJoCo, whose constraint is soft) and stays, where an explicit torque of that size
    would spin it backwards at 147 rad/s."""
    backend = make(flywheel_scene(0.1, 0.05))
    backend.reset()
    backend.set_joint_position("axle", 0.0, 3.0)
    backend.set_controls({"brake": 150.0})  # 300 N·m; 6 N·m would stop it within the step
    backend.step()
    assert -1e-9 < backend.joint_state("axle")[1] < 0.03
    for _ in range(4):
        backend.step()
        assert abs(backend.joint_state("axle")[1]) < 1e-3


def test_elliptic_cone_slides_at_mu_g_in_any_direction(make, backend_name):
    """With ``friction_cone="elliptic"`` a box shoved at any angle to the contact frame slides
    straight and decelerates at μ·g on both engines. MuJoCo's default pyramid gives 0.71 μ·g at
    45° and turns the friction 22° off the slip at 22.5° (PyBullet bounds the magnitude either way)."""
    mu, dt = 0.3, 0.001
    for cone in ("elliptic", "pyramidal"):
        for angle_deg in (22.5, 45.0):
            scene = sliding_box_scene(mu, dt)
            scene.friction_cone = cone
            backend = make(scene)
            backend.step(200)
            push = 3.0 * mu * backend.get_param("box.mass_kg") * G
            a = math.radians(angle_deg)
            for _ in range(200):
                backend.apply_force("box", (push * math.cos(a), push * math.sin(a), 0.0))
                backend.step()
            v0 = backend.body_velocity("box")[0]
            backend.step(100)
            dv = v0 - backend.body_velocity("box")[0]
            decel, off_deg = np.hypot(dv[0], dv[1]) / (100 * dt), math.degrees(math.atan2(dv[1], dv[0]) - a)
            if cone == "elliptic" or backend_name == "pybullet":
                assert abs(decel / (mu * G) - 1) < 0.05 and abs(off_deg) < 1.0, (cone, angle_deg, decel / (mu * G), off_deg)
            elif angle_deg == 45.0:
                assert decel < 0.8 * mu * G, decel / (mu * G)
            else:
                assert abs(off_deg) > 10.0, off_deg


def test_brake_commands_replay_exactly_from_a_saved_state(make):
    """The brake's command is state (restored with the controls), its friction follows it."""
    backend = make(flywheel_scene(0.1, 0.01))
    backend.reset()
    backend.set_joint_position("axle", 0.0, 10.0)
    commands = [{"motor": 1.0, "brake": 0.0}, {"motor": 0.0, "brake": 1.5}, {"motor": 0.5, "brake": 0.2}] * 3

    def run() -> list[float]:
        out = []
        for c in commands:
            backend.set_controls(c)
            backend.step(5)
            out.append(backend.joint_state("axle")[1])
        return out

    backend.set_controls({"brake": 1.0})
    backend.step(3)
    saved = backend.get_state()
    first = run()
    backend.set_controls({"brake": 0.0, "motor": 2.0})  # leave other commands in force
    backend.step(7)
    backend.set_state(saved)
    assert run() == first


def test_brake_and_friction_cone_are_checked():
    """A brake on a free joint and an unknown friction cone are refused by name."""
    scene = sliding_box_scene(0.5)
    scene.actuators.append(Actuator("box_brake", "box_free", "brake"))
    with pytest.raises(SceneError, match="box_brake.*hinge or slide.*box_free"):
        scene.validate()
    scene = sliding_box_scene(0.5)
    scene.friction_cone = "conical"
    with pytest.raises(SceneError, match="friction_cone 'conical'"):
        scene.validate()
