"""Rollouts from a simulator or a proxy reality, recorded with full states.

A *proxy reality* stands in for a robot when none is at hand, and is always labelled as such
in the rollout's ``meta["source"]``:

- ``hidden``: the same simulator with parameters drawn off nominal (near the prior's edges,
  :func:`draw_hidden`) plus effects the calibrated model lacks (observation noise by default);
- ``backend``: the other physics engine (PyBullet as the reality of a MuJoCo model and back).
"""

from __future__ import annotations

from typing import Any, Callable, Mapping

import gymnasium
import numpy as np

from simsuite.calibration.rollouts import Rollout
from simsuite.randomization import ParamSpace

Policy = Callable[[np.ndarray], np.ndarray]


def draw_hidden(space: ParamSpace, names: list[str], rng: np.random.Generator, off: float = 0.3,
                ranges: Mapping[str, tuple[float, float]] | None = None) -> dict[str, float]:
    """Hidden truth: each named parameter ±``off`` (relative) from nominal, sign drawn at
    random, or drawn from ``ranges[name]`` (e.g. latency 0–40 ms)."""
    out = {}
    for name in names:
        p = space[name]
        if ranges and name in ranges:
            value = rng.uniform(*ranges[name])
        else:
            value = p.nominal * (1 + off * rng.choice([-1.0, 1.0]))
        out[name] = float(min(max(value, p.low), p.high))
    return out


def excited(policy: Policy, action_space: gymnasium.spaces.Box, rng: np.random.Generator, noise: float) -> Policy:
    """The policy plus exploration noise (a fraction of the action range), so that the data
    excite the dynamics the fit must identify."""
    half = (action_space.high - action_space.low) / 2

    def act(obs):
        a = np.asarray(policy(obs), dtype=np.float64) + noise * half * rng.standard_normal(half.shape)
        return np.clip(a, action_space.low, action_space.high).astype(np.float32)

    return act


def collect(env: gymnasium.Env, make_policy: Callable[[gymnasium.Env], Policy], n: int, steps: int, seed: int,
            params: Mapping[str, Any] | None = None, noise: float = 0.05, source: str = "sim",
            progress: Callable[[int], None] | None = None, portable: bool = False) -> list[Rollout]:
    """``n`` rollouts of at most ``steps`` control steps, with exact env states recorded.
    ``params`` (the hidden truth for a proxy) are set at each reset. ``portable``: record
    engine-neutral states (another engine's simulator can be reset to them)."""
    sim = env.unwrapped
    rng = np.random.default_rng(seed)
    out = []
    for k in range(n):
        obs, info = env.reset(seed=seed + k, options={"params": dict(params or {})})
        in_force = dict(info.get("params", {}))
        policy = excited(make_policy(env), env.action_space, rng, noise)
        t, observations, actions, states = [sim.backend.time_s], [obs], [], [sim.get_state(portable)]
        for _ in range(steps):
            action = policy(obs)
            obs, _, terminated, truncated, info = env.step(action)
            t.append(sim.backend.time_s)
            observations.append(obs)
            actions.append(action)
            states.append(sim.get_state(portable))
            if terminated or truncated:
                break
        meta = {"source": source, "backend": sim.backend_name, "seed": seed + k, "env_state_layout": "portable" if portable else "SimEnv.get_state"}
        out.append(Rollout(env.spec.id if env.spec else type(sim.task).__name__, np.array(t), np.array(observations),
                           np.array(actions), np.array(states), in_force, meta))
        if progress:
            progress(k + 1)
    return out
