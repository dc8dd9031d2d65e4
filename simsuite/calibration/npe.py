"""Neural posterior estimation of simulator parameters from real rollouts (BayesSim / NPDR
style, Ramos et al. 2019, Muratore et al. 2021), with the ``sbi`` package.

Data: the simulator is reset to K real states (spread over the rollouts) and replays the real
action for one control step, with the real sensor's noise model in force (``noise``, e.g.
``observation.noise_std``, drawn by the env itself from a per-simulation seed); the K
predicted next observations are the raw data, and the K real next observations are x_o. The
simulator is then the real data's generative model, so the posterior can be calibrated.

Localization (round 0): the data narrow mass, kf and latency to a few percent of their priors,
and an estimator trained on prior simulations cannot resolve such a posterior from a few
thousand of them. So a Levenberg-Marquardt fit of the noise-free one-step predictions to the
real next observations (2d + 2 noise-free simulations per iteration) finds θ̂ and its Laplace
covariance σ²(JᵀJ)⁻¹; the posterior then lives in the box θ̂ ± :data:`BOX_SIGMAS` Laplace standard
deviations (at least :data:`MIN_HALF_STEPS` finite-difference steps, clipped to the prior). On
that box the uniform prior restricted is the prior truncated to where its posterior mass is (the
truncated-prior argument of Deistler et al. 2022), so NPE trained on it is the posterior.
Finite-difference steps are never finer than a parameter's resolution (latency acts in whole
physics steps: its likelihood is a staircase).

Summaries: K·D raw numbers are too many for a density estimator trained on a few thousand
simulations (that made the posteriors overconfident). They are compressed to one number per
parameter by score compression (Alsing & Wandelt 2018): t = Jᵀ(x − f(θ̂)) / σ², with J the
finite-difference Jacobian of the noise-free prediction f at θ̂. For a Gaussian sensor that is
the locally sufficient statistic, so many transitions fit in a d-dimensional summary.

Rounds: round 1 from the box; later rounds (truncated sequential NPE, Deistler et al. 2022)
from the box truncated to the current posterior's highest-density region. ``ensemble`` > 1
trains that many flows per round and mixes their samples (a mixture of estimators is the
conservative choice, Hermans et al. 2022). :func:`sbc_coverage` checks the round-1 estimator
on held-out simulations from the box (simulation-based calibration).
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

from simsuite.calibration.dropo import Transitions, WorldCache, _state_obs, predict
from simsuite.calibration.localize import fd_steps, least_squares
from simsuite.calibration.rollouts import Rollout
from simsuite.randomization import ParamSpace

BOX_SIGMAS = 6.0  # the simulation box: this many Laplace standard deviations either side of the estimate
MIN_HALF_STEPS = 2.0  # and at least this many finite-difference steps (latency: ±2 physics steps)
IDENTIFIED_WIDTH = 0.5  # posterior/prior std below this: identified (the rule of FitResult.identifiable)


@dataclass
class Posterior:
    names: list[str]
    lows: np.ndarray
    highs: np.ndarray
    samples: np.ndarray  # (n, d) in parameter units
    simulations: int
    wall_s: float
    sbc: dict[str, float] = field(default_factory=dict)  # per parameter: held-out coverage of the 90 % interval

    def interval(self, name: str, level: float = 0.9, kind: str = "hpd") -> tuple[float, float]:
        """The ``level`` credible interval of one marginal: ``hpd``, the shortest interval
        holding that share of the samples (it reaches the prior's edge when the posterior is
        cut there), or ``central``, equal tails (which always leaves the outer tail out)."""
        col = self.samples[:, self.names.index(name)]
        if kind == "central":
            return float(np.quantile(col, (1 - level) / 2)), float(np.quantile(col, (1 + level) / 2))
        if kind != "hpd":
            raise ValueError(f"interval kind must be 'hpd' or 'central', got {kind!r}")
        return hpd_interval(col, level)

    def mean(self) -> dict[str, float]:
        return dict(zip(self.names, self.samples.mean(axis=0).tolist()))

    def std(self) -> dict[str, float]:
        return dict(zip(self.names, self.samples.std(axis=0).tolist()))

    def width_ratio(self, name: str) -> float:
        """Posterior std / uniform prior std: near 1 means the data do not identify it."""
        i = self.names.index(name)
        return float(self.samples[:, i].std() / ((self.highs[i] - self.lows[i]) / np.sqrt(12)))

    def interval_share(self, name: str, level: float = 0.9, kind: str = "hpd") -> float:
        """The credible interval's length over the prior's: how much the data narrowed it."""
        i = self.names.index(name)
        lo, hi = self.interval(name, level, kind)
        return float((hi - lo) / (self.highs[i] - self.lows[i]))

    def identified(self, name: str, ratio: float = IDENTIFIED_WIDTH) -> bool:
        """False where the posterior is about as wide as the prior: the data cannot tell."""
        return self.width_ratio(name) < ratio


def hpd_interval(values: np.ndarray, level: float = 0.9) -> tuple[float, float]:
    """The shortest interval that holds ``level`` of the samples (the highest-density interval
    of a unimodal marginal). A posterior cut by the prior's edge puts it against that edge,
    where a central interval would drop the outer tail and with it a truth near the edge."""
    if not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1), got {level}")
    x = np.sort(np.asarray(values, dtype=np.float64))
    k = min(len(x), max(1, int(np.ceil(level * len(x)))))
    widths = x[k - 1:] - x[:len(x) - k + 1]
    i = int(np.argmin(widths))
    return float(x[i]), float(x[i + k - 1])


_W: dict[str, Any] = {}


def _init(make_env: Callable[[], gymnasium.Env], tr: Transitions, names: list[str], dims: np.ndarray,
          noise: Mapping[str, float]) -> None:
    _W.update(env=WorldCache(make_env), tr=tr, names=names, dims=dims, noise=dict(noise))


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


def _run(pool, values: np.ndarray, seeds: list[int], done: int, progress: Callable[[int], None] | None) -> np.ndarray:
    xs = []
    for x in pool.imap(_simulate, zip(values, seeds), chunksize=8):
        xs.append(x)
        if progress and (done + len(xs)) % 50 == 0:
            progress(done + len(xs))
    return np.array(xs)


FLOWS = ("logit", "box")  # the flow's space: the box mapped to the real line, or the box itself (sbi's default)


def _train(box, theta, summaries, seed: int, ensemble: int = 1, flow_space: str = "logit"):
    """Fresh NPEs (masked autoregressive flows) on all simulations so far; with ``ensemble`` >
    1, an equal-weight mixture of that many, each from its own seed. The flow works on the box
    mapped to the real line (logit): on the box itself its smooth density cannot reach a flat
    posterior's edges, so the posterior of a parameter the data cannot identify bulged toward
    the middle and its interval missed truths near the prior's edges. ``flow_space="box"``:
    sbi's default flow on the box itself (for comparison)."""
    import torch
    from sbi.inference import NPE
    from sbi.inference.posteriors import EnsemblePosterior
    from sbi.neural_nets import posterior_nn

    if flow_space not in FLOWS:
        raise ValueError(f"flow_space must be one of {FLOWS}, got {flow_space!r}")
    flow = posterior_nn(model="zuko_maf", z_score_theta="transform_to_unconstrained", x_dist=box) if flow_space == "logit" else "maf"
    members = []
    for k in range(ensemble):
        torch.manual_seed(seed + 7919 * k)
        inference = NPE(prior=box, density_estimator=flow, show_progress_bars=False)
        inference.append_simulations(theta, torch.tensor(summaries, dtype=torch.float32))
        with contextlib.redirect_stdout(io.StringIO()):  # sbi prints every epoch; our bar shows progress
            estimator = inference.train(force_first_round_loss=True, show_train_summary=False)
        members.append(inference.build_posterior(estimator))
    return members[0] if ensemble == 1 else EnsemblePosterior(members)


def sbc_coverage(posterior, theta: np.ndarray, summaries: np.ndarray, level: float = 0.9, samples: int = 500) -> np.ndarray:
    """Per parameter: how often the ``level`` highest-density interval of ``posterior`` given held-out
    summaries holds the θ that produced them (simulation-based calibration; ≈ ``level`` when
    the estimator is calibrated)."""
    import torch

    hits = np.zeros(theta.shape[1])
    for th, s in zip(theta, summaries):
        draws = posterior.sample((samples,), x=torch.tensor(s, dtype=torch.float32), show_progress_bars=False).numpy()
        bounds = np.array([hpd_interval(draws[:, i], level) for i in range(draws.shape[1])])
        hits += (bounds[:, 0] <= th) & (th <= bounds[:, 1])
    return hits / len(theta)


def fit_npe(make_env: Callable[[], gymnasium.Env], rollouts: Sequence[Rollout], prior: ParamSpace, names: list[str],
            dims: Sequence[int], noise: Mapping[str, float], simulations: int = 800, rounds: int = 1,
            k_transitions: int = 32, seed: int = 0, workers: int | None = None, sbc: int = 0, ensemble: int = 2,
            flow_space: str = "logit", progress: Callable[[int], None] | None = None) -> Posterior:
    """Posterior over ``names`` given the rollouts (``simulations`` in all, the localization's
    included; the rest split over ``rounds``). ``noise``: the real sensor's noise parameters
    (``observation.noise_std`` [obs units] sets the summary's σ too); ``sbc``: held-out box
    simulations to check the round-1 estimator's calibration on (not counted); ``ensemble``:
    flows per round; ``flow_space``: see :func:`_train`."""
    import torch
    from sbi.utils import BoxUniform, RestrictedPrior, get_density_thresholder

    t0 = time.perf_counter()
    torch.set_num_threads(1)  # small networks: more threads only contend with the simulation workers
    torch.manual_seed(seed)  # the box draws come from torch's generator: unseeded, a fit depended on what ran before it
    dims = np.asarray(dims)
    tr = pick_transitions(rollouts, dims, k_transitions)
    x_o = tr.next_obs[:, dims].ravel()
    lows, highs = prior.subset(names).bounds()
    steps, quantized = fd_steps(make_env, names, lows, highs)
    sigma = float(noise.get("observation.noise_std", 0.0)) or 1e-3
    rng = np.random.default_rng(seed)
    with mp.get_context("fork").Pool(workers or mp.cpu_count(), _init, (make_env, tr, names, dims, noise)) as pool:
        fit = least_squares(lambda points: pool.map(_simulate, [(lows + p * (highs - lows), None) for p in points]), x_o, steps,
                            quantized=quantized)
        center, laplace_sd, done = fit.center, fit.laplace_std(sigma), fit.simulations
        compress = ScoreCompressor(fit.prediction, fit.jacobian, max(sigma, 1e-6))
        half = np.maximum(BOX_SIGMAS * laplace_sd, MIN_HALF_STEPS * steps)
        box_low, box_high = np.clip(center - half, 0.0, 1.0), np.clip(center + half, 0.0, 1.0)
        box = BoxUniform(torch.tensor(box_low, dtype=torch.float32), torch.tensor(box_high, dtype=torch.float32))
        remaining = max(simulations - done, rounds)
        per_round = [remaining // rounds + (r < remaining % rounds) for r in range(rounds)]
        proposal, thetas, raws, sbc_hits = box, [], [], {}
        x_summary = torch.tensor(compress(x_o), dtype=torch.float32)
        for r, n in enumerate(per_round):
            theta = proposal.sample((n,)).numpy().astype(np.float64)
            raws.append(_run(pool, lows + theta * (highs - lows), rng.integers(2**31, size=n).tolist(), done, progress))
            thetas.append(theta)
            done += n
            theta_all = torch.tensor(np.concatenate(thetas), dtype=torch.float32)
            posterior = _train(box, theta_all, compress(np.concatenate(raws)), seed + 100 * r, ensemble, flow_space)
            posterior = posterior.set_default_x(x_summary)
            if r == 0 and sbc:
                held = box.sample((sbc,)).numpy().astype(np.float64)
                held_x = _run(pool, lows + held * (highs - lows), rng.integers(2**31, size=sbc).tolist(), 0, None)
                sbc_hits = dict(zip(names, sbc_coverage(posterior, held, compress(held_x)).tolist()))
            if r < rounds - 1:
                accept = get_density_thresholder(posterior, quantile=1e-4, num_samples_to_estimate_support=20_000)
                # sampling importance resampling from the posterior: plain rejection stalls when it is narrow
                proposal = RestrictedPrior(box, accept, posterior=posterior, sample_with="sir")
    samples = lows + posterior.sample((4000,), x=x_summary, show_progress_bars=False).numpy().astype(np.float64) * (highs - lows)
    for i in quantized:
        samples[:, i] = spread_over_levels(samples[:, i], steps[i] * (highs[i] - lows[i]), lows[i], highs[i], rng)
    return Posterior(list(names), lows, highs, samples, done, time.perf_counter() - t0, sbc_hits)


def pick_transitions(rollouts: Sequence[Rollout], dims: np.ndarray, k: int) -> Transitions:
    """``k`` transitions spread over the faster half of all of them (by the norm of the
    summarized dimensions of the observation they start from, e.g. velocity and body rates):
    a transition at speed carries more of the drag term, and the choice never looks at the
    next observations that the summaries are made of."""
    all_tr = Transitions.from_rollouts(rollouts)
    motion = np.concatenate([np.linalg.norm(_state_obs(r)[np.arange(5, r.steps)][:, dims], axis=1) for r in rollouts])
    fast = np.sort(np.argsort(motion)[len(motion) // 2:])
    pick = fast[np.unique(np.linspace(0, len(fast) - 1, min(k, len(fast))).round().astype(int))]
    return all_tr.subset(pick)


def spread_over_levels(values: np.ndarray, resolution: float, low: float, high: float, rng: np.random.Generator) -> np.ndarray:
    """A parameter that acts in whole steps of ``resolution`` (latency: physics steps) has a
    likelihood that is flat across each step: given the estimator's probability of each level,
    the posterior is uniform within it. Each sample keeps its level and is redrawn uniformly
    inside it (a flow cannot draw such a box sharply: its intervals came out too narrow)."""
    level = np.round(values / resolution)
    lo = np.maximum((level - 0.5) * resolution, low)
    hi = np.minimum((level + 0.5) * resolution, high)
    return rng.uniform(lo, np.maximum(hi, lo))

