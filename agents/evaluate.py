"""Evaluate a trained policy on a target: nominal sim, randomized sim, or a proxy reality.

:func:`evaluate` is the function behind ``simsuite evaluate runs/train/uav_ppo_s0 --episodes 50``.
A target is the policy's own env (same options and agent-side wrappers) with

- ``randomize=False``: nominal parameters;
- ``randomize=True`` or a ParamSpace file: a randomized sim;
- ``params={...}`` or a params file: a proxy reality, parameters fixed at hidden values through
  ``reset(options={"params": hidden})`` at every episode.

It reports the success rate with its Wilson score interval and the mean return with a
bootstrap percentile interval (both 95%), and can write every episode as a rollout in the
calibration format (observations as the env gives them, actions as sent, exact env states,
the parameters in force) and a video of the first episodes.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Mapping

import gymnasium
import numpy as np

from simsuite.agents.train import TrainedPolicy, load_policy


def wilson_interval(successes: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """Wilson score interval for a binomial proportion (95% for z = 1.96); exact at 0 and n."""
    if n == 0:
        return (0.0, 1.0)
    p = successes / n
    denom = 1.0 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return (max(0.0, centre - half), min(1.0, centre + half))


def bootstrap_interval(values, level: float = 0.95, resamples: int = 5000, seed: int = 0) -> tuple[float, float]:
    """Percentile bootstrap interval of the mean."""
    x = np.asarray(values, dtype=np.float64)
    if x.size < 2:
        return (float(x.mean()) if x.size else math.nan,) * 2
    rng = np.random.default_rng(seed)
    means = x[rng.integers(0, x.size, (resamples, x.size))].mean(axis=1)
    lo, hi = np.quantile(means, [(1 - level) / 2, (1 + level) / 2])
    return (float(lo), float(hi))


@dataclass
class EvalResult:
    """Per-episode outcomes on one target, and their summary with 95% intervals."""

    target: str
    env_id: str
    successes: list[bool] = field(default_factory=list)
    returns: list[float] = field(default_factory=list)
    lengths: list[int] = field(default_factory=list)
    wall_s: float = 0.0
    rollouts: list[str] = field(default_factory=list)
    video: str | None = None

    @property
    def episodes(self) -> int:
        return len(self.successes)

    @property
    def success_rate(self) -> float:
        return float(np.mean(self.successes)) if self.successes else math.nan

    @property
    def success_ci(self) -> tuple[float, float]:
        return wilson_interval(int(sum(self.successes)), self.episodes)

    @property
    def mean_return(self) -> float:
        return float(np.mean(self.returns)) if self.returns else math.nan

    @property
    def return_ci(self) -> tuple[float, float]:
        return bootstrap_interval(self.returns)

    def summary(self) -> dict[str, Any]:
        return {"target": self.target, "env_id": self.env_id, "episodes": self.episodes,
                "success_rate": self.success_rate, "success_ci95": list(self.success_ci),
                "mean_return": self.mean_return, "return_ci95": list(self.return_ci),
                "mean_length": float(np.mean(self.lengths)) if self.lengths else math.nan, "wall_s": round(self.wall_s, 2)}

    def to_dict(self) -> dict[str, Any]:
        return {**self.summary(), **{k: v for k, v in asdict(self).items() if k not in ("target", "env_id", "wall_s")}}


def load_params(params: str | Path | Mapping[str, Any] | None) -> dict[str, Any] | None:
    """Hidden parameter values from a mapping or a YAML/JSON file: ``{name: value}``, the same
    under a top-level ``params:``, or a ParamSpace file (each parameter's ``nominal``)."""
    if params is None:
        return None
    if not isinstance(params, Mapping):
        path = Path(params)
        if not path.is_file():
            raise FileNotFoundError(f"params file {str(path)!r} does not exist")
        if path.suffix == ".json":
            params = json.loads(path.read_text())
        else:
            import yaml

            params = yaml.safe_load(path.read_text())
        if not isinstance(params, Mapping):
            raise ValueError(f"{path}: expected a mapping of parameter name to value")
    if isinstance(params.get("params"), Mapping):
        params = params["params"]
    out = {}
    for name, value in params.items():
        if isinstance(value, Mapping):
            if "nominal" not in value:
                raise ValueError(f"parameter {name!r}: a mapping value needs a 'nominal' field, got {sorted(value)}")
            value = value["nominal"]
        if not isinstance(value, (int, float, str)) or isinstance(value, bool):
            raise ValueError(f"parameter {name!r}: value must be a number or a string, got {value!r}")
        out[str(name)] = value
    return out


def evaluate(policy: str | Path | TrainedPolicy, *, episodes: int = 50, randomize: Any = False,
             params: str | Path | Mapping[str, Any] | None = None, backend: str | None = None, env_id: str | None = None,
             seed: int = 1_000_000, rollouts_dir: str | Path | None = None, video: str | Path | None = None,
             video_episodes: int = 1, camera: str | None = None, target: str | None = None,
             progress: bool = False) -> EvalResult:
    """Run ``episodes`` seeded episodes (seeds ``seed``, ``seed + 1``, ...; far from training's)
    of ``policy`` on a target and return the outcomes.

    ``params``: a proxy reality's hidden parameters, applied at every reset. ``rollouts_dir``:
    one ``episode_<k>.npz`` per episode in the calibration rollout format. ``video``: an MP4 of the
    first ``video_episodes`` episodes from the env's ``render_mode="rgb_array"`` camera, or from
    ``camera`` (a :class:`~simsuite.render.view.CameraView` spec such as ``"chase:quadrotor"``).
    """
    pol = policy if isinstance(policy, TrainedPolicy) else load_policy(policy)
    hidden = load_params(params)
    name = target or ("proxy" if hidden else "randomized" if randomize else "nominal")
    env = pol.make_env(randomize=randomize, backend=backend, env_id=env_id,
                       render_mode="rgb_array" if video and camera is None else None)
    result = EvalResult(name, env_id or pol.env_id)
    writer = view = None
    if video:
        from simsuite.render.record import VideoWriter
        from simsuite.render.view import CameraView

        writer = VideoWriter(video, env.metadata.get("render_fps", 30))
        result.video = str(video)
        if camera is not None:
            view = CameraView(camera, width=640, height=480)

    def film() -> None:
        writer.write(env.render() if view is None else view.frame(env.unwrapped.backend).rgb)

    out = Path(rollouts_dir) if rollouts_dir else None
    t0 = time.perf_counter()
    try:
        for ep in _progress(range(episodes), progress, f"evaluate on {name}"):
            filming = writer is not None and ep < video_episodes
            obs, info = env.reset(seed=seed + ep, options={"params": hidden} if hidden else None)
            sim = env.unwrapped
            observations, actions, total, done = [obs], [], 0.0, False
            t_s, states = [sim.backend.time_s], [sim.get_state()] if out is not None else None
            if filming:
                film()
            while not done:
                action = pol(obs)
                obs, reward, terminated, truncated, step_info = env.step(action)
                observations.append(obs)
                actions.append(np.asarray(action, np.float64))
                t_s.append(sim.backend.time_s)
                if states is not None:
                    states.append(sim.get_state())
                total += float(reward)
                done = terminated or truncated
                if filming:
                    film()
            result.successes.append(bool(step_info.get("is_success", False)))
            result.returns.append(total)
            result.lengths.append(len(actions))
            if out is not None:
                meta = {"source": f"sim:{name}", "policy": pol.name, "seed": seed + ep, "success": result.successes[-1],
                        "return": total, "backend": sim.backend_name, "env_state_layout": "SimEnv.get_state"}
                path = write_rollout(out / f"episode_{ep:04d}.npz", result.env_id, t_s, observations, actions, states,
                                     info.get("params", {}), meta)
                result.rollouts.append(str(path))
    finally:
        if writer is not None:
            writer.close()
        if view is not None:
            view.close()
        env.close()
    result.wall_s = time.perf_counter() - t0
    return result


def _progress(iterable, show: bool, description: str):
    if not show:
        return iterable
    from rich.progress import track

    return track(iterable, description=description, transient=True)


def write_rollout(path: Path, env_id: str, t_s: list, observations: list, actions: list, states: list | None,
                  params: Mapping[str, Any], meta: Mapping[str, Any]) -> Path:
    """One episode in the calibration rollout format (:class:`simsuite.calibration.rollouts.Rollout`)."""
    from simsuite.calibration.rollouts import Rollout

    if isinstance(observations[0], Mapping):
        obs = {k: np.stack([o[k] for o in observations]) for k in observations[0]}
    else:
        obs = np.stack(observations)
    acts = np.stack(actions) if actions else np.zeros((0, 0))
    return Rollout(env_id, np.asarray(t_s), obs, acts, None if states is None else np.stack(states), dict(params),
                   dict(meta)).save(path)
