"""CMA-ES fit of a parameter distribution to real trajectories (SimOpt, Chebotar et al. 2019).

For rollouts whose simulator states are unknown or only approximately restorable (a real
robot, or another engine's engine-neutral states), one-step replays from every real state
(:mod:`~simsuite.calibration.dropo`) either cannot run or mostly measure the restart. SimOpt
replays the real actions open loop instead and compares whole trajectory pieces:

- **segments**: each rollout is cut into pieces of ``segment_steps``; a piece starts from the
  real state at its start where the rollout has states (segment-wise re-synchronization, so
  that drift does not compound over a whole rollout), else the whole rollout is replayed
  from the env's reset with the rollout's seed;
- **discrepancy**: D = w₁·mean|Δ| + w₂·mean(Δ²) over the steps and the compared observation
  entries, each entry in units of its spread in the real data (so metres and radians weigh
  alike);
- **objective**: the mean of D over K parameter sets drawn from the candidate distribution
  (truncated normals, μ and log σ per parameter, the same parametrization and draws as DROPO),
  minimized by CMA-ES (the ``cma`` package) in worker processes, common random numbers
  across candidates. As DROPO's, the search starts at a least-squares fit, here of the
  replayed trajectories (Levenberg-Marquardt, a few dozen replays), with narrow spreads.
  A point mass minimizes an expected discrepancy, so the fitted spreads
  shrink towards their floor: which parameters the data actually pin down is read from the
  discrepancy's slice across the prior (:attr:`FitResult.likelihood_share`), not from σ.
"""

from __future__ import annotations

import multiprocessing as mp
import time
from dataclasses import dataclass
from typing import Any, Callable, Sequence

import gymnasium
import numpy as np

from simsuite.calibration.dropo import WARM_LOG_SIGMA, WARM_STEP, FitResult, WorldCache, _state_obs, decode, draw
from simsuite.calibration.localize import PROFILE_POINTS, fd_steps, least_squares, likelihood_share
from simsuite.calibration.rollouts import Rollout
from simsuite.randomization import ParamSpace

SCALE_FLOOR = 1e-3  # an entry that hardly varies in the real data is compared in these units [obs units]


@dataclass
class Segments:
    """Real action sequences to replay and the observations they led to."""

    starts: list[np.ndarray | None]  # the real state at each segment's start, None: replay from the seeded reset
    actions: list[np.ndarray]  # (L, action) per segment
    obs: list[np.ndarray]  # (L, obs): the real observation after each action
    seeds: list[int]  # the episode seed of each segment's rollout
    portable: bool = False  # engine-neutral states (recorded on another engine)

    @classmethod
    def from_rollouts(cls, rollouts: Sequence[Rollout], segment_steps: int) -> "Segments":
        if segment_steps < 1:
            raise ValueError(f"segment_steps must be >= 1, got {segment_steps}")
        layouts = {r.meta.get("env_state_layout", "SimEnv.get_state") for r in rollouts if r.states is not None}
        if len(layouts) > 1:
            raise ValueError(f"rollouts mix state layouts {sorted(layouts)}")
        out = cls([], [], [], [], layouts == {"portable"})
        for r in rollouts:
            real, seed = _state_obs(r), int(r.meta.get("seed", 0))
            if r.states is None:  # no state to restart from: the whole rollout, from the seeded reset
                out._add(None, r.actions, real[1:], seed)
                continue
            for start in range(0, r.steps - segment_steps + 1, segment_steps):
                end = start + segment_steps
                out._add(r.states[start], r.actions[start:end], real[start + 1:end + 1], seed)
        if not out.actions:
            raise ValueError(f"no rollout has {segment_steps} steps to replay")
        return out

    def _add(self, state: np.ndarray | None, actions: np.ndarray, obs: np.ndarray, seed: int) -> None:
        self.starts.append(state)
        self.actions.append(np.asarray(actions))
        self.obs.append(np.asarray(obs, dtype=np.float64))
        self.seeds.append(seed)

    def target(self, dims: np.ndarray) -> np.ndarray:
        """The real observations of every segment, stacked: (steps, len(dims))."""
        return np.concatenate([o[:, dims] for o in self.obs])


def replay(worlds: WorldCache, names: list[str], values: np.ndarray, segments: Segments, dims: np.ndarray) -> np.ndarray:
    """The simulated observations of every segment under one parameter set, stacked like
    :meth:`Segments.target`. After an episode end inside a segment the last observation is
    held: a simulator that crashes where reality flew on keeps paying for it."""
    params = dict(zip(names, values.tolist()))
    out, current, sim = [], None, None
    for state, actions, seed in zip(segments.starts, segments.actions, segments.seeds):
        if state is None:  # the rollout's own start
            sim = worlds.reset(seed, params)
            sim.reset(seed=seed, options={"params": params})
        else:  # one reset per rollout's world puts the parameters in force; a state restores the rest
            if seed != current:
                sim = worlds.reset(seed, params)
            sim.set_state(state, portable=segments.portable)
        current = seed if state is not None else None
        rows, ended = np.empty((len(actions), len(dims))), False
        for k, action in enumerate(actions):
            if not ended:
                obs, _, terminated, _, _ = sim.step(action)
                obs = obs["state"] if isinstance(obs, dict) else obs
                last, ended = np.asarray(obs, dtype=np.float64)[dims], terminated
            rows[k] = last
        out.append(rows)
    return np.concatenate(out)


def discrepancy(sim: np.ndarray, real: np.ndarray, scale: np.ndarray, w_l1: float = 1.0, w_l2: float = 1.0) -> float:
    """SimOpt's weighted L1 + L2 trajectory discrepancy, per step and entry, in units of ``scale``."""
    d = (sim - real) / scale
    return float(w_l1 * np.mean(np.abs(d)) + w_l2 * np.mean(d**2))


# -- one worker's envs -------------------------------------------------------------------------
_WORKER: dict[str, Any] = {}


def _init_worker(make_env: Callable[[], gymnasium.Env], segments: Segments, names: list[str], lows: np.ndarray,
                 highs: np.ndarray, k_samples: int, dims: np.ndarray, scale: np.ndarray, weights: tuple[float, float]) -> None:
    _WORKER.update(env=WorldCache(make_env), seg=segments, names=names, lows=lows, highs=highs, k=k_samples, dims=dims,
                   target=segments.target(dims), scale=scale, weights=weights)


def _replay_point(values: np.ndarray) -> np.ndarray:
    w = _WORKER
    return replay(w["env"], w["names"], values, w["seg"], w["dims"]).ravel()


def _expected_discrepancy(x: np.ndarray, seed: int) -> float:
    w = _WORKER
    mu, sigma = decode(x, w["lows"], w["highs"])
    rng = np.random.default_rng(seed)
    return float(np.mean([discrepancy(replay(w["env"], w["names"], draw(rng, mu, sigma, w["lows"], w["highs"]), w["seg"], w["dims"]),
                                      w["target"], w["scale"], *w["weights"]) for _ in range(w["k"])]))


def fit_simopt(make_env: Callable[[], gymnasium.Env], rollouts: Sequence[Rollout], prior: ParamSpace, names: list[str],
               segment_steps: int = 10, seed: int = 0, workers: int | None = None, k_samples: int = 3, generations: int = 20,
               popsize: int = 10, dims: Sequence[int] | None = None, weights: tuple[float, float] = (1.0, 1.0),
               obs_floor: float = 1e-3, warm_start: bool = True, profile: bool = True,
               progress: Callable[[int, float], None] | None = None) -> FitResult:
    """Fit truncated normals over ``names`` to the rollouts' trajectories (see the module
    docstring). ``warm_start``: CMA-ES starts at the trajectory least-squares fit with narrow
    spreads, else at the prior's nominal values with wide ones. ``dims``: the
    observation entries compared (default all); ``weights``: (w₁, w₂) of the discrepancy;
    ``obs_floor``: the noise scale [obs units] of the profile that reports which parameters
    the data identify (``profile``: 9 replays per parameter). ``FitResult.history`` records
    ``best_loglik`` as minus the best expected discrepancy, so reports read both fits alike."""
    import cma

    t0 = time.perf_counter()
    segments = Segments.from_rollouts(rollouts, segment_steps)
    sub = prior.subset(names)
    lows, highs = sub.bounds()
    n_obs = segments.obs[0].shape[1]
    dims = np.arange(n_obs) if dims is None else np.asarray(dims)
    real = segments.target(dims)
    scale = np.maximum(real.std(axis=0), SCALE_FLOOR)
    steps = len(real)
    workers = workers or mp.cpu_count()
    history, evaluations, share, start_sims, laplace = [], 0, {}, 0, {}
    init = (make_env, segments, names, lows, highs, k_samples, dims, scale, weights)
    with mp.get_context("fork").Pool(workers, _init_worker, init) as pool:
        replays = lambda points: pool.map(_replay_point, [lows + p * (highs - lows) for p in points])  # noqa: E731
        if warm_start:
            fd, quantized = fd_steps(make_env, names, lows, highs)
            ls = least_squares(replays, real.ravel(), fd, quantized=quantized)
            x0, step0, start_sims = np.r_[ls.center, np.full(len(names), WARM_LOG_SIGMA)], WARM_STEP, ls.simulations
            laplace = dict(zip(names, (ls.laplace_std(obs_floor) * (highs - lows)).tolist()))
        else:
            x0 = np.r_[(np.array([sub[n].nominal for n in names]) - lows) / (highs - lows), np.full(len(names), 0.75)]
            step0 = 0.25
        es = cma.CMAEvolutionStrategy(x0, step0, {"bounds": [0.0, 1.0], "popsize": popsize, "seed": seed + 1, "verbose": -9,
                                                  "maxiter": generations})
        for gen in range(generations):
            xs = es.ask()
            values = pool.starmap(_expected_discrepancy, zip(xs, [seed] * len(xs)))  # common random numbers
            evaluations += len(xs)
            es.tell(xs, values)
            mu, sigma = decode(es.result.xfavorite, lows, highs)
            history.append({"generation": gen + 1, "best_loglik": -float(min(values)),
                            "mean": dict(zip(names, mu.tolist())), "std": dict(zip(names, sigma.tolist()))})
            if progress:
                progress(gen + 1, float(min(values)))
        mu, sigma = decode(es.result.xfavorite, lows, highs)
        if profile:
            points = likelihood_share(replays, real.ravel(), (mu - lows) / (highs - lows), obs_floor)
            share = dict(zip(names, points.tolist()))
    sims = evaluations * k_samples + start_sims + (len(names) * PROFILE_POINTS if profile else 0)
    return FitResult(names, dict(zip(names, mu.tolist())), dict(zip(names, sigma.tolist())), prior, history, evaluations,
                     sims * steps, time.perf_counter() - t0, laplace, share)
