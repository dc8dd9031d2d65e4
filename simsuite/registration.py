"""Register SimSuite tasks with gymnasium by string entry point.

Every id takes ``backend="mujoco" | "pybullet"`` and the other SimEnv keyword
arguments (see :class:`simsuite.env.SimEnv`); the task class is imported only when
the env is made.
"""

from __future__ import annotations

import gymnasium

# id -> (task class "module:Class", max episode steps, one-line summary)
TASKS: dict[str, tuple[str, int, str]] = {
    "SimSuite/Grasp-v0": ("simsuite.envs.grasp:GraspTask", 200, "Panda arm with parallel gripper lifts objects from a table"),
    "SimSuite/Nav-v0": ("simsuite.envs.navigation:NavTask", 600, "differential-drive robot reaches a goal in procedural indoor floor plans"),
    "SimSuite/Drive-v0": ("simsuite.envs.driving:DriveTask", 1000, "Ackermann car follows a procedural road with lanes and obstacles"),
    "SimSuite/UAV-v0": ("simsuite.envs.uav:UAVTask", 500, "Crazyflie-class quadrotor: hover, waypoints or a gate course"),
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


def available_ids() -> list[str]:
    """Registered ids whose task module is present in this installation."""
    import importlib.util

    return [i for i, (task, _, _) in TASKS.items() if importlib.util.find_spec(task.partition(":")[0]) is not None]
