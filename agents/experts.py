"""Scripted experts, one per task family. They prove each task is solvable on both
backends and give reference rollouts for calibration.

An expert is built from the env it drives (``make_expert(env)``) and is called as
``policy(obs) -> action``; it may read the task's privileged state (object poses,
the map) through ``env.unwrapped``, as a scripted expert should. Each family's expert
lives in its own module beside this one.
"""

from __future__ import annotations

import importlib
from typing import Callable

import gymnasium
import numpy as np

Policy = Callable[[np.ndarray], np.ndarray]

# task class name -> "module:factory"; a factory takes the env and returns a Policy
EXPERTS: dict[str, str] = {
    "PendulumTask": "simsuite.agents.expert_pendulum:make_pendulum_expert",
    "GraspTask": "simsuite.agents.expert_grasp:make_grasp_expert",
    "NavTask": "simsuite.agents.expert_nav:make_nav_expert",
    "DriveTask": "simsuite.agents.expert_drive:make_drive_expert",
    "UAVTask": "simsuite.agents.expert_uav:make_uav_expert",
}


def make_expert(env: gymnasium.Env) -> Policy:
    """The scripted expert for ``env``'s task family."""
    task_name = type(env.unwrapped.task).__name__
    if task_name not in EXPERTS:
        raise ValueError(f"no scripted expert for task {task_name}; experts exist for {sorted(EXPERTS)}")
    module, _, factory = EXPERTS[task_name].partition(":")
    return getattr(importlib.import_module(module), factory)(env)
