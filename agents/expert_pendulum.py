"""Pendulum-v0 expert: energy-pumping swing-up (Åström & Furuta 2000), then a PD hold."""

from __future__ import annotations

import math

import gymnasium
import numpy as np

G = 9.81  # [m/s²]


def make_pendulum_expert(env: gymnasium.Env):
    task = env.unwrapped.task
    inertia = task.mass_kg * task.length_m**2  # [kg·m²]
    e_top = task.mass_kg * G * task.length_m  # potential energy upright [J]

    def policy(obs: np.ndarray) -> np.ndarray:
        cos_t, sin_t, speed = (float(v) for v in obs)
        theta = math.atan2(sin_t, cos_t)
        if cos_t > 0.9:
            torque = -(20.0 * theta + 4.0 * speed)
        else:
            energy = 0.5 * inertia * speed**2 + e_top * cos_t
            torque = 4.0 * (e_top - energy) * (speed if abs(speed) > 1e-3 else 1.0)
        return np.array([np.clip(torque / task.max_torque_nm, -1.0, 1.0)], dtype=np.float32)

    return policy
