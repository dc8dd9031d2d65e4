"""Tune the UAV expert for a parameter distribution, in simulation (the "controller tuned on
a distribution" step of the calibration loop, issue 7).

The cascaded controller's model of the airframe is the distribution's mean (mass, kf), and
its four gains (hover PID kp, kd, ki and the tilt loop) are chosen by CMA-ES to maximize the
mean episode return over parameter sets drawn from the distribution (common random numbers:
every candidate meets the same draws). Candidates run in worker processes.
"""

from __future__ import annotations

import math
import multiprocessing as mp
from typing import Any, Mapping

import gymnasium
import numpy as np

from simsuite.agents.expert_uav import K_ATT, KD_POS, KI_POS, KP_POS, make_uav_expert
from simsuite.randomization import ParamSpace

GAIN_NAMES = ("kp", "kd", "ki", "k_att")
DEFAULT_GAINS = np.array([KP_POS, KD_POS, KI_POS, K_ATT[0]])
LOG_RANGE = math.log(3.0)  # gains searched within ×/÷ 3 of the defaults


def gains_of(x: np.ndarray) -> dict[str, float]:
    return dict(zip(GAIN_NAMES, (DEFAULT_GAINS * np.exp(LOG_RANGE * np.clip(x, -1, 1))).tolist()))


def episode(env: gymnasium.Env, params: Mapping[str, Any], model: Mapping[str, float], gains: Mapping[str, float],
            seed: int, max_steps: int | None = None) -> tuple[float, bool]:
    """(return, success at the end) of one hover episode under ``params``."""
    obs, _ = env.reset(seed=seed, options={"params": dict(params)})
    policy = make_uav_expert(env, model, gains)
    total, steps, info = 0.0, 0, {}
    while True:
        obs, reward, terminated, truncated, info = env.step(policy(obs))
        total, steps = total + reward, steps + 1
        if terminated or truncated or (max_steps and steps >= max_steps):
            return total, bool(info.get("is_success", False))


_W: dict[str, Any] = {}


def _init(env_id: str, draws: list[dict], model: dict, seed: int, max_steps: int) -> None:
    _W.update(env=gymnasium.make(env_id), draws=draws, model=model, seed=seed, max_steps=max_steps)


def _score(x: np.ndarray) -> float:
    g = gains_of(x)
    returns = [episode(_W["env"], p, _W["model"], g, _W["seed"] + i, _W["max_steps"])[0] for i, p in enumerate(_W["draws"])]
    return float(np.mean(returns))


def tune(env_id: str, space: ParamSpace | None, seed: int = 0, samples: int = 6, generations: int = 8,
         popsize: int = 8, max_steps: int = 250, workers: int | None = None, progress=None) -> dict[str, Any]:
    """Gains and model for a distribution (``space``; None: nominal parameters only)."""
    import cma

    rng = np.random.default_rng(seed)
    if space is None:
        draws, model = [{}] * samples, {}
    else:
        draws = [space.sample(rng) for _ in range(samples)]
        model = {p.name: float(p.mean if p.dist in ("normal", "truncnormal") else p.nominal) for p in space if p.numeric}
    es = cma.CMAEvolutionStrategy(np.zeros(len(GAIN_NAMES)), 0.3, {"bounds": [-1, 1], "popsize": popsize, "seed": seed + 1,
                                                                   "verbose": -9, "maxiter": generations})
    with mp.get_context("fork").Pool(workers or mp.cpu_count(), _init, (env_id, draws, model, 10_000 + seed, max_steps)) as pool:
        for gen in range(generations):
            xs = es.ask()
            scores = pool.map(_score, xs)
            es.tell(xs, [-s for s in scores])
            if progress:
                progress(gen + 1)
    return {"gains": gains_of(es.result.xbest), "model": model, "score": -float(es.result.fbest)}
