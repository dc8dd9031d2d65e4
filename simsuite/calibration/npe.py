"""Neural posterior estimation of simulator parameters from real rollouts (BayesSim / NPDR
style, Ramos et al. 2019, Muratore et al. 2021), with the ``sbi`` package.

Data: the simulator is reset to K real states (spread over the rollouts) and replays the real
action for one control step, with the real sensor's noise model in force (``noise``, e.g.
``observation.noise_std``, drawn by the env itself from a per-simulation seed); the K
predicted next observations are the raw data, and the K real next observations are x_o. The
simulator is then the real data's generative model, so the posterior can be calibrated.

Summaries: K·D raw numbers are too many for a density estimator trained on a few thousand
simulations (that made the posteriors overconfident). They are compressed to one number per
parameter by score compression (Alsing & Wandelt 2018): t = Jᵀ(x − f(θ*)) / σ², with J the
finite-difference Jacobian of the noise-free prediction f at θ*. For a Gaussian sensor that is
the locally sufficient statistic, so many transitions fit in a d-dimensional summary. θ* is the
prior's centre in round 1 and the previous round's posterior mean after that (all stored
simulations are re-summarized).

Rounds: a prior uniform on the ParamSpace bounds (normalized to [0, 1]); truncated sequential
NPE (Deistler et al. 2022): round 1 from the prior, later rounds from the prior truncated to the
current posterior's highest-density region. :func:`sbc_coverage` checks the round-1 (amortized)
estimator on held-out prior simulations (simulation-based calibration).
"""

from __future__ import annotations

import contextlib
import io
import multiprocessing as mp
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Sequence

import gymnasium
import numpy as np

from simsuite.calibration.dropo import Transitions, predict
from simsuite.calibration.rollouts import Rollout
from simsuite.randomization import ParamSpace

JACOBIAN_STEP = 0.15  # finite-difference half-step, as a fraction of the prior's width (wider than a latency substep)


@dataclass
class Posterior:
    names: list[str]
    lows: np.ndarray
    highs: np.ndarray
    samples: np.ndarray  # (n, d) in parameter units
    simulations: int
    wall_s: float
    sbc: dict[str, float] = field(default_factory=dict)  # per parameter: held-out coverage of the 90 % interval

    def interval(self, name: str, level: float = 0.9) -> tuple[float, float]:
        col = self.samples[:, self.names.index(name)]
        return float(np.quantile(col, (1 - level) / 2)), float(np.quantile(col, (1 + level) / 2))

    def mean(self) -> dict[str, float]:
        return dict(zip(self.names, self.samples.mean(axis=0).tolist()))

    def std(self) -> dict[str, float]:
        return dict(zip(self.names, self.samples.std(axis=0).tolist()))

    def width_ratio(self, name: str) -> float:
        """Posterior std / uniform prior std: near 1 means the data do not identify it."""
        i = self.names.index(name)
        return float(self.samples[:, i].std() / ((self.highs[i] - self.lows[i]) / np.sqrt(12)))


_W: dict[str, Any] = {}


def _init(make_env: Callable[[], gymnasium.Env], tr: Transitions, names: list[str], dims: np.ndarray,
          noise: Mapping[str, float]) -> None:
    env = make_env()
    env.reset(seed=0)
    _W.update(env=env.unwrapped, tr=tr, names=names, dims=dims, noise=dict(noise))


def _simulate(args: tuple[np.ndarray, int | None]) -> np.ndarray:
    """Predicted next observations (selected dims, flat) for one parameter set; a seed: with
    the sensor noise drawn from it, None: noise-free."""
    values, seed = args
    extra = _W["noise"] if seed is not None else None
    return predict(_W["env"], _W["names"], values, _W["tr"], extra, seed)[:, _W["dims"]].ravel().astype(np.float64)


@dataclass
class ScoreCompressor:
    """t = Jᵀ(x − f(θ*)) / σ², one summary per parameter, in units of its noise standard
    deviation and passed through arcsinh: linear near θ*, logarithmic for simulations far from
    it (a monotone map keeps the information; raw, those far ones are outliers that spoil the
    estimator's z-scoring)."""

    f0: np.ndarray
    jac: np.ndarray  # (K·D, d)
    sigma: float

    def __call__(self, x: np.ndarray) -> np.ndarray:
        noise_std = np.sqrt(np.sum(self.jac**2, axis=0)) / self.sigma  # of t under the sensor noise
        return np.arcsinh((x - self.f0) @ self.jac / self.sigma**2 / np.maximum(noise_std, 1e-12))


def _compressor(pool, center: np.ndarray, lows: np.ndarray, highs: np.ndarray, sigma: float) -> ScoreCompressor:
    """Noise-free predictions at θ* and θ* ± h along each axis (2d + 1 simulations)."""
    d = len(center)
    points = [center]
    for i in range(d):
        for sign in (1, -1):
            p = center.copy()
            p[i] = np.clip(p[i] + sign * JACOBIAN_STEP, 0.0, 1.0)
            points.append(p)
    preds = pool.map(_simulate, [(lows + p * (highs - lows), None) for p in points])
    jac = np.stack([(preds[1 + 2 * i] - preds[2 + 2 * i]) / (points[1 + 2 * i][i] - points[2 + 2 * i][i]) for i in range(d)], axis=1)
    return ScoreCompressor(preds[0], jac, max(sigma, 1e-6))


def _run(pool, values: np.ndarray, seeds: list[int], done: int, progress: Callable[[int], None] | None) -> np.ndarray:
    xs = []
    for x in pool.imap(_simulate, zip(values, seeds), chunksize=8):
        xs.append(x)
        if progress and (done + len(xs)) % 50 == 0:
            progress(done + len(xs))
    return np.array(xs)


def _train(box, theta, summaries, seed: int):
    """A fresh NPE (sbi's default masked autoregressive flow) on all simulations so far."""
    import torch
    from sbi.inference import NPE

    torch.manual_seed(seed)
    inference = NPE(prior=box, show_progress_bars=False)
    inference.append_simulations(theta, torch.tensor(summaries, dtype=torch.float32))
    with contextlib.redirect_stdout(io.StringIO()):  # sbi prints every epoch; our bar shows progress
        estimator = inference.train(force_first_round_loss=True, show_train_summary=False)
    return inference.build_posterior(estimator)


def sbc_coverage(posterior, theta: np.ndarray, summaries: np.ndarray, level: float = 0.9, samples: int = 500) -> np.ndarray:
    """Per parameter: how often the ``level`` central interval of ``posterior`` given held-out
    summaries holds the θ that produced them (simulation-based calibration; ≈ ``level`` when
    the estimator is calibrated)."""
    import torch

    hits = np.zeros(theta.shape[1])
    for th, s in zip(theta, summaries):
        draws = posterior.sample((samples,), x=torch.tensor(s, dtype=torch.float32), show_progress_bars=False).numpy()
        lo, hi = np.quantile(draws, (1 - level) / 2, axis=0), np.quantile(draws, (1 + level) / 2, axis=0)
        hits += (lo <= th) & (th <= hi)
    return hits / len(theta)


def fit_npe(make_env: Callable[[], gymnasium.Env], rollouts: Sequence[Rollout], prior: ParamSpace, names: list[str],
            dims: Sequence[int], noise: Mapping[str, float], simulations: int = 5000, rounds: int = 2,
            k_transitions: int = 64, seed: int = 0, workers: int | None = None, sbc: int = 0,
            progress: Callable[[int], None] | None = None) -> Posterior:
    """Posterior over ``names`` given the rollouts (``simulations`` in all, split over
    ``rounds``). ``noise``: the real sensor's noise parameters (``observation.noise_std`` [obs
    units] sets the summary's σ too); ``sbc``: held-out prior simulations to check the round-1
    estimator's calibration on (not counted in ``simulations``)."""
    import torch
    from sbi.utils import BoxUniform, RestrictedPrior, get_density_thresholder

    t0 = time.perf_counter()
    torch.set_num_threads(1)  # small networks: more threads only contend with the simulation workers
    all_tr = Transitions.from_rollouts(rollouts)
    pick = np.linspace(0, len(all_tr) - 1, min(k_transitions, len(all_tr))).round().astype(int)
    tr = all_tr.subset(np.unique(pick))
    dims = np.asarray(dims)
    x_o = tr.next_obs[:, dims].ravel()
    lows, highs = prior.subset(names).bounds()
    sigma = float(noise.get("observation.noise_std", 0.0)) or 1e-3
    box = BoxUniform(torch.zeros(len(names)), torch.ones(len(names)))
    proposal, thetas, raws, done, sbc_hits = box, [], [], 0, {}
    rng = np.random.default_rng(seed)
    center = np.full(len(names), 0.5)
    per_round = [simulations // rounds + (r < simulations % rounds) for r in range(rounds)]
    with mp.get_context("fork").Pool(workers or mp.cpu_count(), _init, (make_env, tr, names, dims, noise)) as pool:
        for r, n in enumerate(per_round):
            compress = _compressor(pool, center, lows, highs, sigma)
            theta = proposal.sample((n,)).numpy().astype(np.float64)
            raws.append(_run(pool, lows + theta * (highs - lows), rng.integers(2**31, size=n).tolist(), done, progress))
            thetas.append(theta)
            done += n
            theta_all, raw_all = np.concatenate(thetas), np.concatenate(raws)
            posterior = _train(box, torch.tensor(theta_all, dtype=torch.float32), compress(raw_all), seed + r)
            x_summary = torch.tensor(compress(x_o), dtype=torch.float32)
            posterior = posterior.set_default_x(x_summary)
            if r == 0 and sbc:
                held = box.sample((sbc,)).numpy().astype(np.float64)
                held_x = _run(pool, lows + held * (highs - lows), rng.integers(2**31, size=sbc).tolist(), 0, None)
                sbc_hits = dict(zip(names, sbc_coverage(posterior, held, compress(held_x)).tolist()))
            if r < rounds - 1:
                center = posterior.sample((2000,), x=x_summary, show_progress_bars=False).numpy().mean(axis=0).astype(np.float64)
                accept = get_density_thresholder(posterior, quantile=1e-4, num_samples_to_estimate_support=20_000)
                # sampling importance resampling from the posterior: plain rejection from the
                # prior stalls when the posterior is narrow
                proposal = RestrictedPrior(box, accept, posterior=posterior, sample_with="sir")
    samples = posterior.sample((4000,), x=x_summary, show_progress_bars=False).numpy().astype(np.float64)
    return Posterior(list(names), lows, highs, lows + samples * (highs - lows), done, time.perf_counter() - t0, sbc_hits)
