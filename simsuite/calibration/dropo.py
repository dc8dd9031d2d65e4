"""CMA-ES fit of a parameter distribution to real transitions (DROPO, Tiboni et al. 2023).

The distribution is a truncated normal per parameter, N(μ, σ) on the prior's bounds. For a
candidate (μ, log σ), K parameter sets are drawn; for each, the simulator is reset to every
selected real state and replays the real action for one control step. The K predicted next
observations of a transition give a Gaussian (mean, variance + observation-noise floor), and
the objective is the summed log-likelihood of the real next observations. CMA-ES (the ``cma``
package) maximizes it over the normalized (μ, log σ). Candidates are evaluated in worker
processes, one env each, seeded from the fit's seed: the same seed gives the same fit.
"""

from __future__ import annotations

import math
import multiprocessing as mp
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import gymnasium
import numpy as np

from simsuite.calibration.localize import PROFILE_POINTS, fd_steps, least_squares, likelihood_share
from simsuite.calibration.rollouts import Rollout
from simsuite.randomization import Param, ParamSpace
from simsuite.randomization.space import _truncnormal

LOG_SIGMA_RANGE = (math.log(1e-3), math.log(0.5))  # σ as a fraction of the prior's width
WARM_LOG_SIGMA = 0.3  # warm start: σ ≈ 0.6 % of the prior's width
WARM_STEP = 0.05  # warm start: CMA's initial step (normalized), a few Laplace widths


@dataclass
class Transitions:
    """Real (state, action, next observation) triples picked from rollouts."""

    states: list[np.ndarray]  # a list: worlds of different rollouts may differ in state size
    actions: np.ndarray
    next_obs: np.ndarray
    seeds: np.ndarray | None = None  # the episode seed of each (procedural worlds are rebuilt from it)
    portable: bool = False  # engine-neutral states (recorded on another engine)

    @classmethod
    def from_rollouts(cls, rollouts: Sequence[Rollout], every: int = 1, skip: int = 5) -> "Transitions":
        s, a, o, seeds = [], [], [], []
        layouts = {r.meta.get("env_state_layout", "SimEnv.get_state") for r in rollouts}
        if len(layouts) > 1:
            raise ValueError(f"rollouts mix state layouts {sorted(layouts)}")
        for r in rollouts:
            if r.states is None:
                raise ValueError(f"rollout of {r.env_id} has no states; DROPO needs states to reset to (--method simopt replays whole rollouts)")
            idx = np.arange(skip, r.steps, every)
            s.extend(r.states[idx])
            a.append(r.actions[idx])
            o.append(_state_obs(r)[idx + 1])
            seeds.append(np.full(len(idx), int(r.meta.get("seed", 0))))
        return cls(s, np.concatenate(a), np.concatenate(o).astype(np.float64), np.concatenate(seeds),
                   layouts == {"portable"})

    def subset(self, idx: np.ndarray) -> "Transitions":
        return Transitions([self.states[i] for i in idx], self.actions[idx], self.next_obs[idx],
                           None if self.seeds is None else self.seeds[idx], self.portable)

    def __len__(self) -> int:
        return len(self.states)


def _state_obs(rollout: Rollout) -> np.ndarray:
    """The task's state vector: the observation itself, or its ``state`` entry when the
    rollout observed several modalities (e.g. a ROS bridge session with LIDAR and IMU)."""
    if isinstance(rollout.obs, dict):
        if "state" not in rollout.obs:
            raise ValueError(f"rollout observations {sorted(rollout.obs)} have no 'state' entry to calibrate against")
        return rollout.obs["state"]
    return rollout.obs


@dataclass
class FitResult:
    names: list[str]
    mean: dict[str, float]
    std: dict[str, float]
    prior: ParamSpace
    history: list[dict[str, Any]] = field(default_factory=list)  # per generation: best objective, means
    evaluations: int = 0
    sim_steps: int = 0
    wall_s: float = 0.0
    laplace_std: dict[str, float] = field(default_factory=dict)  # the least-squares start's σ²(JᵀJ)⁻¹, parameter units
    likelihood_share: dict[str, float] = field(default_factory=dict)  # share of the prior the data cannot rule out

    def laplace_ratio(self, name: str) -> float:
        """The least-squares fit's Laplace standard deviation over the prior's (uniform) one:
        how much the data narrow the parameter, whatever spread CMA-ES settled on (a
        warm-started σ starts narrow and nothing widens it where the likelihood is flat)."""
        p = self.prior[name]
        return self.laplace_std[name] / ((p.high - p.low) / math.sqrt(12))

    def space(self) -> ParamSpace:
        """The fitted distribution as a ParamSpace (truncated normals on the prior's bounds),
        ready for ``randomize=``."""
        params = []
        for p in self.prior:
            if p.name in self.mean:
                mean = min(max(self.mean[p.name], p.low), p.high)
                params.append(Param(p.name, mean, p.low, p.high, dist="truncnormal", mean=mean,
                                    std=max(self.std[p.name], 1e-12), unit=p.unit, doc=p.doc, targets=p.targets))
            else:
                params.append(p)
        return ParamSpace(params)

    def identifiable(self, name: str, ratio: float = 0.5) -> bool:
        """Whether the data narrowed the parameter: the share of the prior the likelihood
        slice cannot rule out (:func:`~simsuite.calibration.localize.likelihood_share`), else
        the Laplace standard deviation of the least-squares start, else the fitted σ, below
        ``ratio`` (× the prior's uniform standard deviation for the last two)."""
        if name in self.likelihood_share:
            return self.likelihood_share[name] < ratio
        if name in self.laplace_std:
            return self.laplace_ratio(name) < ratio
        p = self.prior[name]
        return self.std[name] < ratio * (p.high - p.low) / math.sqrt(12)


# -- one worker's envs -------------------------------------------------------------------------
_WORKER: dict[str, Any] = {}


class WorldCache:
    """One env per rollout seed. Procedural worlds (Grasp's objects, Drive's road) are built
    from the seed once, then each candidate's parameters come in by an unseeded reset, which
    keeps the compiled world: rebuilding a Panda world per candidate made DROPO too slow."""

    def __init__(self, make_env: Callable[[], gymnasium.Env] | None = None, env: gymnasium.Env | None = None):
        if (make_env is None) == (env is None):
            raise ValueError("give make_env (one env per seed) or env (one env, rebuilt when the seed changes)")
        self.make_env, self.shared = make_env, env.unwrapped if env is not None else None
        self.envs: dict[int, Any] = {}
        self._current: int | None = None

    def reset(self, seed: int, params: dict[str, Any]):
        """The env of ``seed``'s world, reset under ``params``."""
        if self.shared is not None:  # one env: a new seed rebuilds its world
            env, fresh = self.shared, seed != self._current
            self._current = seed
        else:
            fresh = seed not in self.envs
            if fresh:
                self.envs[seed] = self.make_env().unwrapped
            env = self.envs[seed]
        if fresh or env.task.rebuild_scene(env.np_random):  # the task would build another world: the seed's again
            env.reset(seed=seed, options={"params": params})
        else:
            env.reset(options={"params": params})
        return env


def _init_worker(make_env: Callable[[], gymnasium.Env], transitions: Transitions, names: list[str],
                 lows: np.ndarray, highs: np.ndarray, k_samples: int, obs_floor: float, dims: np.ndarray) -> None:
    _WORKER.update(env=WorldCache(make_env), tr=transitions, names=names, lows=lows, highs=highs, k=k_samples, floor=obs_floor,
                   dims=dims)


def predict(env, names: list[str], values: np.ndarray, transitions: Transitions,
            extra: dict[str, float] | None = None, noise_seed: int | None = None) -> np.ndarray:
    """Next observations for every transition under one parameter set, each from the world of
    its rollout's seed (``env``: a :class:`WorldCache`, or one env that is re-seeded when the
    seed changes). ``extra``: further parameters in force (e.g. the real sensor's
    ``observation.noise_std``); ``noise_seed``: the env's noise then comes from this seed, not
    the rollout's, so that simulations draw independent noise."""
    worlds = env if isinstance(env, WorldCache) else WorldCache(env=env)
    params = {**(extra or {}), **dict(zip(names, values.tolist()))}
    seeds = transitions.seeds if transitions.seeds is not None else np.zeros(len(transitions), int)
    out = np.empty_like(transitions.next_obs)
    current, sim, shared_world = None, None, False
    for i, (state, action, seed) in enumerate(zip(transitions.states, transitions.actions, seeds)):
        if seed != current:
            if not shared_world:  # a world that no seed changes is reset (under params) once
                sim = worlds.reset(int(seed), params)
                shared_world = not sim.task.rebuild_scene(np.random.default_rng(0))
            if noise_seed is not None:
                sim.np_random = np.random.default_rng([noise_seed, int(seed)])
            current = seed
        sim.set_state(state, portable=transitions.portable)
        out[i] = sim.step(action)[0]
    return out


def _predict_point(values: np.ndarray) -> np.ndarray:
    """Noise-free next observations of every transition (flat) under one parameter set."""
    w = _WORKER
    return predict(w["env"], w["names"], values, w["tr"])[:, w["dims"]].ravel()


def _loglik(x: np.ndarray, seed: int) -> float:
    w = _WORKER
    mu, sigma = decode(x, w["lows"], w["highs"])
    rng = np.random.default_rng(seed)
    dims = w["dims"]
    preds = np.stack([predict(w["env"], w["names"], draw(rng, mu, sigma, w["lows"], w["highs"]), w["tr"])[:, dims] for _ in range(w["k"])])
    var = preds.var(axis=0) + w["floor"] ** 2
    resid = w["tr"].next_obs[:, dims] - preds.mean(axis=0)
    return float(-0.5 * np.sum(resid**2 / var + np.log(2 * math.pi * var)))


def decode(x: np.ndarray, lows: np.ndarray, highs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """CMA's vector in [0, 1]^(2n) → (μ, σ) in parameter units."""
    n = len(lows)
    width = highs - lows
    mu = lows + np.clip(x[:n], 0, 1) * width
    log_frac = LOG_SIGMA_RANGE[0] + np.clip(x[n:], 0, 1) * (LOG_SIGMA_RANGE[1] - LOG_SIGMA_RANGE[0])
    return mu, np.exp(log_frac) * width


def draw(rng: np.random.Generator, mu: np.ndarray, sigma: np.ndarray, lows: np.ndarray, highs: np.ndarray) -> np.ndarray:
    return np.array([_truncnormal(rng, m, s, lo, hi) for m, s, lo, hi in zip(mu, sigma, lows, highs)])


def fit_cmaes(make_env: Callable[[], gymnasium.Env], rollouts: Sequence[Rollout], prior: ParamSpace, names: list[str],
              seed: int = 0, workers: int | None = None, k_samples: int = 4, generations: int = 30, popsize: int = 10,
              every: int = 2, obs_floor: float = 1e-3, warm_start: bool = True, dims: Sequence[int] | None = None,
              profile: bool = True, grid: int = 0, progress: Callable[[int, float], None] | None = None) -> FitResult:
    """Fit truncated normals over ``names`` to the rollouts' transitions (see the module docstring).
    ``every``: use every n-th transition; ``obs_floor``: observation-noise floor [obs units];
    ``warm_start``: start CMA-ES at the noise-free least-squares fit
    (:func:`~simsuite.calibration.localize.least_squares`, a few dozen simulations) with narrow
    spreads, not at nominal with wide ones: 20 generations of a 10-candidate population do not
    converge in 8 dimensions from nominal. ``dims``: the observation entries the likelihood
    compares (default all; e.g. Drive-v0's vehicle state without its clearance ring, whose
    rays jump where they graze an obstacle's corner). ``profile``: finish with the likelihood
    slice across the prior through the fitted means (which parameters the data identify); ``grid``:
    the least-squares start begins from the best of that many points per parameter
    (:func:`~simsuite.calibration.localize.least_squares`), for jagged contact-rich costs."""
    import cma

    t0 = time.perf_counter()
    tr = Transitions.from_rollouts(rollouts, every=every)
    sub = prior.subset(names)
    lows, highs = sub.bounds()
    dims = np.arange(tr.next_obs.shape[1]) if dims is None else np.asarray(dims)
    workers = workers or mp.cpu_count()
    ctx = mp.get_context("fork")
    history, evaluations, start_sims, laplace = [], 0, 0, {}
    with ctx.Pool(workers, _init_worker, (make_env, tr, names, lows, highs, k_samples, obs_floor, dims)) as pool:
        if warm_start:  # the means start at the least-squares fit, the spreads narrow
            steps, quantized = fd_steps(make_env, names, lows, highs)
            ls = least_squares(lambda points: pool.map(_predict_point, [lows + p * (highs - lows) for p in points]),
                               tr.next_obs[:, dims].ravel(), steps, quantized=quantized, grid=grid)
            x0, step0, start_sims = np.r_[ls.center, np.full(len(names), WARM_LOG_SIGMA)], WARM_STEP, ls.simulations
            laplace = dict(zip(names, (ls.laplace_std(obs_floor) * (highs - lows)).tolist()))
        else:  # the means start at nominal, the spreads wide
            x0 = np.r_[(np.array([sub[n].nominal for n in names]) - lows) / (highs - lows), np.full(len(names), 0.75)]
            step0 = 0.25
        es = cma.CMAEvolutionStrategy(x0, step0, {"bounds": [0.0, 1.0], "popsize": popsize, "seed": seed + 1,
                                                  "verbose": -9, "maxiter": generations})
        for gen in range(generations):
            xs = es.ask()
            seeds = [seed] * len(xs)  # common random numbers: candidates differ only in (μ, σ)
            values = pool.starmap(_loglik, zip(xs, seeds))
            evaluations += len(xs)
            es.tell(xs, [-v for v in values])
            mu, sigma = decode(es.result.xfavorite, lows, highs)
            history.append({"generation": gen + 1, "best_loglik": float(max(values)),
                            "mean": dict(zip(names, mu.tolist())), "std": dict(zip(names, sigma.tolist()))})
            if progress:
                progress(gen + 1, float(max(values)))
        mu, sigma = decode(es.result.xfavorite, lows, highs)
        share, profile_sims = {}, 0
        if profile:
            target, center = tr.next_obs[:, dims].ravel(), (mu - lows) / (highs - lows)
            points = likelihood_share(lambda ps: pool.map(_predict_point, [lows + p * (highs - lows) for p in ps]), target, center,
                                      obs_floor)
            share, profile_sims = dict(zip(names, points.tolist())), len(names) * PROFILE_POINTS
    return FitResult(names, dict(zip(names, mu.tolist())), dict(zip(names, sigma.tolist())), prior, history,
                     evaluations, (evaluations * k_samples + start_sims + profile_sims) * len(tr), time.perf_counter() - t0, laplace,
                     share)
