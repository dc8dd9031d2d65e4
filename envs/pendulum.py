"""SimSuite/Pendulum-v0: swing a torque-limited hinge pendulum up and hold it.

The foundation's reference task: small enough to read in a minute, and it uses every
part of the Task contract (scene, spaces, actuators by name, named reward terms).

## Action Space
``Box(-1, 1, (1,))``: motor torque as a fraction of ``max_torque_nm``.

## Observation Space
``Box((3,))``: ``[cos θ, sin θ, θ̇]`` with θ = 0 upright [rad] and θ̇ [rad/s], |θ̇| ≤ 8.

## Rewards
``angle`` = −θ², ``velocity`` = −0.1·θ̇², ``effort`` = −0.001·τ² (τ in N·m); the sum is ≤ 0.

## Starting State
θ ~ U(−π, π), θ̇ ~ U(−1, 1), drawn from the env's RNG.

## Episode End
Never terminates; truncated after 500 steps (25 s) by the registered TimeLimit.
``info["is_success"]`` is True while |θ| < 0.1 rad and |θ̇| < 1 rad/s.

## Arguments
``max_torque_nm`` (2.0), ``length_m`` (1.0), ``mass_kg`` (1.0).

## Domain Randomization
``randomize=True`` samples this space at every reset (``PendulumTask.param_space()``,
where a comment on each line says why its range is what it is); ``info["params"]`` holds the
values drawn. Pass a file or a ``ParamSpace`` to ``randomize=`` to change it.

| parameter | distribution | nominal | unit | meaning |
|---|---|---|---|---|
| `pole.mass_kg` | U(0.8, 1.2) | 1 | kg | pendulum mass |
| `hinge.damping` | U(0, 0.05) | 0 | N·m·s/rad | viscous hinge damping |
| `motor.gain` | U(0.8, 1.2) | 1 |  | torque per command |
| `actuation.latency_s` | U(0, 0.05) | 0 | s | command-to-torque delay |

## Version History
- v0: first version.
"""

from __future__ import annotations

import math

import gymnasium
import numpy as np

from simsuite.backends.base import Backend
from simsuite.randomization import Param, ParamSpace
from simsuite.scene import Actuator, Body, Geom, Inertial, Joint, Scene
from simsuite.task import Task

MAX_SPEED_RAD_S = 8.0
JOINT, MOTOR = "hinge", "motor"


class PendulumTask(Task):
    control_dt_s = 0.05

    def __init__(self, max_torque_nm: float = 2.0, length_m: float = 1.0, mass_kg: float = 1.0):
        if min(max_torque_nm, length_m, mass_kg) <= 0:
            raise ValueError("max_torque_nm, length_m and mass_kg must be > 0")
        self.max_torque_nm, self.length_m, self.mass_kg = max_torque_nm, length_m, mass_kg
        self._read_key: float | None = None  # physics time of the cached angle read
        self._theta_speed = (0.0, 0.0)

    def build_scene(self, rng: np.random.Generator) -> Scene:
        """A point-like bob at +z of a pivot 1.5 m up; θ = 0 is upright."""
        L = self.length_m
        scene = Scene(name="pendulum", timestep_s=0.002)
        scene.add(Body("ground", geoms=[Geom("ground_plane", "plane", (0.0, 0.0))], semantic_class="floor"))
        pole = Body(
            "pole",
            pos=(0.0, 0.0, 1.5),
            joint=Joint(JOINT, "hinge", axis=(0.0, 1.0, 0.0)),
            geoms=[
                Geom("rod", "capsule", (0.01, L / 2), pos=(0.0, 0.0, L / 2), collide=False),
                Geom("bob", "sphere", (0.05,), pos=(0.0, 0.0, L), rgba=(0.8, 0.2, 0.2, 1.0)),
            ],
            inertial=Inertial(self.mass_kg, (1e-5, 1e-5, 1e-5), pos=(0.0, 0.0, L)),
            semantic_class="robot",
        )
        scene.add(pole)
        scene.actuators.append(Actuator(MOTOR, JOINT, "torque", gear=self.max_torque_nm, ctrl_range=(-1.0, 1.0)))
        return scene

    @property
    def action_space(self) -> gymnasium.spaces.Box:
        return gymnasium.spaces.Box(-1.0, 1.0, (1,), np.float32)

    @property
    def observation_space(self) -> gymnasium.spaces.Box:
        high = np.array([1.0, 1.0, MAX_SPEED_RAD_S], np.float32)
        return gymnasium.spaces.Box(-high, high, dtype=np.float32)

    def reset(self, backend: Backend, rng: np.random.Generator) -> None:
        backend.set_joint_position(JOINT, rng.uniform(-math.pi, math.pi), rng.uniform(-1.0, 1.0))
        self._read_key = None

    def set_state(self, backend: Backend, state: np.ndarray) -> None:
        self._read_key = None  # the engine state was just restored

    def apply_action(self, backend: Backend, action: np.ndarray) -> None:
        backend.set_control_array((MOTOR,), action)

    def _angle(self, backend: Backend) -> tuple[float, float]:
        """θ wrapped to [−π, π] and θ̇, read once per physics state (observe, reward and
        success all ask; reset and set_state drop the cached read)."""
        key = backend.time_s
        if key != self._read_key:
            q, qd = backend.joint_state(JOINT)
            self._read_key, self._theta_speed = key, (math.remainder(q, 2 * math.pi), qd)
        return self._theta_speed

    def observe(self, backend: Backend) -> np.ndarray:
        theta, speed = self._angle(backend)
        speed = min(max(speed, -MAX_SPEED_RAD_S), MAX_SPEED_RAD_S)
        return np.array([math.cos(theta), math.sin(theta), speed], dtype=np.float32)

    def reward_terms(self, backend: Backend, action: np.ndarray) -> dict[str, float]:
        theta, speed = self._angle(backend)
        torque = float(action[0]) * self.max_torque_nm
        return {"angle": -(theta**2), "velocity": -0.1 * speed**2, "effort": -0.001 * torque**2}

    def param_space(self) -> ParamSpace:
        """Pendulum-v0's default randomization (``randomize=True``)."""
        return ParamSpace([
            # Pole mass: U(0.8, 1.2) kg
            Param("pole.mass_kg", 1.0, 0.8, 1.2, unit="kg", doc="pendulum mass"),
            # Hinge damping: U(0, 0.05) N·m·s/rad: bearing friction
            Param("hinge.damping", 0.0, 0.0, 0.05, unit="N·m·s/rad", doc="viscous hinge damping"),
            # Motor gain: U(0.8, 1.2): torque constant
            Param("motor.gain", 1.0, 0.8, 1.2, doc="torque per command"),
            # Actuation latency: U(0, 0.05) s
            Param("actuation.latency_s", 0.0, 0.0, 0.05, unit="s", doc="command-to-torque delay"),
        ])

    def is_success(self, backend: Backend) -> bool:
        theta, speed = self._angle(backend)
        return abs(theta) < 0.1 and abs(speed) < 1.0
