"""Each backend against analytic physics: free fall, pendulum period, sliding friction."""

from __future__ import annotations

import math

import numpy as np

from conftest import G, falling_sphere_scene, pendulum_scene, sliding_box_scene


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
