"""Shared fixtures: small physics scenes with known analytic answers, on every backend."""

from __future__ import annotations

import pytest

from simsuite.backends import BACKENDS, make_backend
from simsuite.scene import Actuator, Body, Geom, Inertial, Joint, Scene

G = 9.81


@pytest.fixture(params=BACKENDS)
def backend_name(request) -> str:
    return request.param


@pytest.fixture
def make(backend_name):
    """Compile a scene on the parametrized backend; closed after the test."""
    made = []

    def _make(scene: Scene):
        backend = make_backend(backend_name)
        backend.compile(scene)
        made.append(backend)
        return backend

    yield _make
    for backend in made:
        backend.close()


def floor() -> Body:
    return Body("floor", geoms=[Geom("floor_plane", "plane", (0.0, 0.0), friction=1.0)], semantic_class="floor")


def falling_sphere_scene(z0_m: float = 2.0, dt_s: float = 0.002) -> Scene:
    scene = Scene(name="fall", timestep_s=dt_s)
    scene.add(Body("ball", pos=(0.0, 0.0, z0_m), joint=Joint("ball_free", "free"), geoms=[Geom("ball_geom", "sphere", (0.05,))]))
    return scene


def pendulum_scene(length_m: float = 1.0, dt_s: float = 0.001) -> Scene:
    """A point-like bob hanging ``length_m`` below a hinge about y, 2 m above ground."""
    scene = Scene(name="pendulum", timestep_s=dt_s)
    scene.add(
        Body(
            "pole",
            pos=(0.0, 0.0, 2.0),
            joint=Joint("swing", "hinge", axis=(0.0, 1.0, 0.0)),
            geoms=[Geom("bob", "sphere", (0.02,), pos=(0.0, 0.0, -length_m))],
            inertial=Inertial(1.0, (1e-7, 1e-7, 1e-7), pos=(0.0, 0.0, -length_m)),
        )
    )
    scene.actuators.append(Actuator("swing_motor", "swing", "torque", ctrl_range=(-5.0, 5.0)))
    return scene


def sliding_box_scene(mu: float, dt_s: float = 0.001) -> Scene:
    scene = Scene(name="slide", timestep_s=dt_s)
    scene.add(floor())
    scene.add(
        Body(
            "box",
            pos=(0.0, 0.0, 0.05),
            joint=Joint("box_free", "free"),
            geoms=[Geom("box_geom", "box", (0.1, 0.1, 0.05), friction=mu, density_kg_m3=500.0)],
        )
    )
    return scene
