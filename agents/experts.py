"""Scripted experts: one per task family. They prove a task is solvable on both
backends and give reference rollouts. Each is a callable ``policy(obs) -> action``
built by :func:`make_expert` from the env it will drive."""

from __future__ import annotations

import math
from typing import Callable

import gymnasium
import numpy as np

Policy = Callable[[np.ndarray], np.ndarray]


def pendulum_expert(max_torque_nm: float, length_m: float, mass_kg: float, g: float = 9.81) -> Policy:
    """Energy-pumping swing-up (Åström & Furuta), then a PD hold near upright."""
    inertia = mass_kg * length_m**2
    e_top = mass_kg * g * length_m

    def policy(obs: np.ndarray) -> np.ndarray:
        cos_t, sin_t, speed = (float(v) for v in obs)
        theta = math.atan2(sin_t, cos_t)
        if cos_t > 0.9:
            torque = -(20.0 * theta + 4.0 * speed)
        else:
            energy = 0.5 * inertia * speed**2 + e_top * cos_t
            torque = 4.0 * (e_top - energy) * (speed if abs(speed) > 1e-3 else 1.0)
        return np.array([np.clip(torque / max_torque_nm, -1.0, 1.0)], dtype=np.float32)

    return policy


def make_expert(env: gymnasium.Env) -> Policy:
    """The scripted expert for ``env``'s task family."""
    task = env.unwrapped.task
    from simsuite.envs.pendulum import PendulumTask

    if isinstance(task, PendulumTask):
        return pendulum_expert(task.max_torque_nm, task.length_m, task.mass_kg)
    raise ValueError(f"no scripted expert for task {type(task).__name__}")
