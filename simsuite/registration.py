"""Register SimSuite tasks with gymnasium by string entry point.

Every id takes ``backend="mujoco" | "pybullet"`` and the other SimEnv keyword
arguments (see :class:`simsuite.env.SimEnv`); the task class is imported only when
the env is made.
"""

from __future__ import annotations

import gymnasium

# id -> (task class "module:Class", max episode steps, one-line summary)
TASKS: dict[str, tuple[str, int, str]] = {
    "SimSuite/Pendulum-v0": (
        "simsuite.envs.pendulum:PendulumTask",
        500,
        "torque-limited hinge pendulum swing-up (the foundation's reference task)",
    ),
}


def register_task(env_id: str, task: str, max_episode_steps: int) -> None:
    """Register ``env_id`` to build a SimEnv around the task class at ``task``."""
    if env_id in gymnasium.registry:
        return
    gymnasium.register(
        id=env_id,
        entry_point="simsuite.env:SimEnv",
        max_episode_steps=max_episode_steps,
        kwargs={"task": task},
    )


def register_all() -> None:
    for env_id, (task, max_steps, _) in TASKS.items():
        register_task(env_id, task, max_steps)
