"""The Task contract: what one task family supplies to :class:`simsuite.env.SimEnv`.

A task builds its world as a neutral :class:`~simsuite.scene.Scene`, declares its
spaces, turns actions into actuator commands and reads observations, all through
the backend protocol. It never imports an engine (DESIGN.md rule 1).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, Any

import gymnasium
import numpy as np

from simsuite.backends.base import Backend
from simsuite.scene import Scene

if TYPE_CHECKING:
    from simsuite.randomization import ParamSpace


class Task(ABC):
    """Base class for task families. Options arrive as constructor keyword arguments;
    an unknown option raises ``TypeError`` naming it (Python's own check)."""

    #: agent step [s]; SimEnv runs round(control_dt_s / scene.timestep_s) physics substeps
    control_dt_s: float = 0.02

    @abstractmethod
    def build_scene(self, rng: np.random.Generator) -> Scene:
        """The world for the next episode, drawn from ``rng``."""

    def rebuild_scene(self, rng: np.random.Generator) -> bool:
        """Whether the next reset needs a new world (procedural tasks say True sometimes).
        The default keeps the compiled world and only resets the state: fast resets."""
        return False

    @property
    @abstractmethod
    def action_space(self) -> gymnasium.spaces.Box: ...

    @property
    @abstractmethod
    def observation_space(self) -> gymnasium.spaces.Space: ...

    @abstractmethod
    def reset(self, backend: Backend, rng: np.random.Generator) -> None:
        """Draw the episode's starting state (the backend was just reset)."""

    @abstractmethod
    def apply_action(self, backend: Backend, action: np.ndarray) -> None:
        """Turn a validated action into actuator commands and forces."""

    @abstractmethod
    def observe(self, backend: Backend) -> Any:
        """The observation after a step or reset."""

    @abstractmethod
    def reward_terms(self, backend: Backend, action: np.ndarray) -> dict[str, float]:
        """Named, already weighted reward terms; the reward is their sum."""

    def is_terminated(self, backend: Backend) -> bool:
        """Episode over for a reason inside the MDP (crash, goal reached...)."""
        return False

    def is_success(self, backend: Backend) -> bool:
        """Stable-Baselines3's ``info["is_success"]``."""
        return False

    def default_sensors(self) -> dict[str, dict[str, Any]]:
        """Sensors this robot carries, by name: a spec for :func:`simsuite.sensors.make_sensor`
        with its mount (``body`` or ``site``, ``pos``, ``quat``). SimEnv simulates one when
        it is observed (``obs=(..., name)``) or overridden (``sensors={name: ...}``)."""
        return {}

    # -- state the task keeps outside the engine (motor speeds, targets) -----------------
    def get_state(self) -> np.ndarray:
        """The task's own episode state as a flat array (with ``Backend.get_state`` it makes
        the env's full state: calibration resets the simulator to real states with it)."""
        return np.zeros(0)

    def set_state(self, backend: Backend, state: np.ndarray) -> None:
        """Restore :meth:`get_state` (the backend's state was just restored)."""

    def restore_forces(self, backend: Backend, action: np.ndarray) -> None:
        """After a restore under latency, put back the forces of the last control step (the
        next step's first substeps run on them; a restored engine starts without any). The
        default re-applies that step's action and then the task's state: exact for tasks whose
        forces depend only on their state and the action; tasks that integrate their own
        actuators (rotor lag) keep the applied wrench in their state and override this."""
        task_state = self.get_state()
        self.apply_action(backend, action)
        self.set_state(backend, task_state)

    # -- parameters the task itself models (motor constants, drag, steering gain) ----------
    def param_names(self) -> list[str]:
        """Names of the physical parameters this task models outside the engine."""
        return []

    def get_param(self, name: str) -> float:
        raise KeyError(f"{type(self).__name__} has no parameter {name!r}; it has {self.param_names()}")

    def set_param(self, name: str, value: float) -> None:
        """Change one of :meth:`param_names`; takes effect from the next reset on."""
        raise KeyError(f"{type(self).__name__} has no parameter {name!r}; it has {self.param_names()}")

    def param_space(self) -> "ParamSpace":
        """The family's default randomization space (its env docstring lists it)."""
        from simsuite.randomization import ParamSpace

        return ParamSpace()

    def extra_info(self, backend: Backend) -> dict[str, Any]:
        """Task-specific entries for ``info`` (kept small: it is built every step)."""
        return {}
