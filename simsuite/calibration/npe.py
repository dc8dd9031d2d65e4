"""Neural posterior estimation of simulator parameters from real rollouts (BayesSim / NPDR
style, Ramos et al. 2019, Muratore et al. 2021), with the ``sbi`` package.

Summary statistics: the simulator is reset to K real states (spread over the rollouts) and
replays the real action for one control step; the K predicted next observations (selected
dimensions) plus Gaussian observation noise of the real sensor's σ form x. For the real data,
x_o is the K real next observations. A prior uniform on the ParamSpace bounds (normalized to
[0, 1]) feeds truncated sequential NPE (Deistler et al. 2022): round 1 from the prior, later
rounds from the prior truncated to the current posterior's highest-density region.
"""

from __future__ import annotations

import contextlib
import io
import multiprocessing as mp
import time
from dataclasses import dataclass
from typing import Any, Callable, Sequence

import gymnasium
import numpy as np

from simsuite.calibration.dropo import Transitions, predict
from simsuite.calibration.rollouts import Rollout
from simsuite.randomization import ParamSpace


@dataclass
class Posterior:
    names: list[str]
    lows: np.ndarray
    highs: np.ndarray
    samples: np.ndarray  # (n, d) in parameter units
    simulations: int
    wall_s: float

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


def _init(make_env: Callable[[], gymnasium.Env], tr: Transitions, names: list[str], dims: np.ndarray, noise: float) -> None:
    env = make_env()
    env.reset(seed=0)
    _W.update(env=env.unwrapped, tr=tr, names=names, dims=dims, noise=noise)


def _simulate(args: tuple[np.ndarray, int]) -> np.ndarray:
    values, seed = args
    pred = predict(_W["env"], _W["names"], values, _W["tr"])[:, _W["dims"]]
    return (pred + _W["noise"] * np.random.default_rng(seed).standard_normal(pred.shape)).ravel()


def fit_npe(make_env: Callable[[], gymnasium.Env], rollouts: Sequence[Rollout], prior: ParamSpace, names: list[str],
            dims: Sequence[int], obs_noise: float, simulations: int = 4000, rounds: int = 2, k_transitions: int = 16,
            seed: int = 0, workers: int | None = None, progress: Callable[[int], None] | None = None) -> Posterior:
    """Posterior over ``names`` given the rollouts (``simulations`` in all, split over ``rounds``)."""
    import torch
    from sbi.inference import NPE
    from sbi.utils import BoxUniform, RestrictedPrior, get_density_thresholder

    t0 = time.perf_counter()
    torch.manual_seed(seed)
    all_tr = Transitions.from_rollouts(rollouts)
    pick = np.linspace(0, len(all_tr) - 1, k_transitions).round().astype(int)
    tr = all_tr.subset(pick)
    dims = np.asarray(dims)
    x_o = torch.tensor(tr.next_obs[:, dims].ravel(), dtype=torch.float32)
    lows, highs = prior.subset(names).bounds()
    box = BoxUniform(torch.zeros(len(names)), torch.ones(len(names)))
    inference, proposal = NPE(prior=box), box
    per_round, done = simulations // rounds, 0
    rng = np.random.default_rng(seed)
    with mp.get_context("fork").Pool(workers or mp.cpu_count(), _init, (make_env, tr, names, dims, obs_noise)) as pool:
        for r in range(rounds):
            theta = proposal.sample((per_round,))
            values = lows + theta.numpy().astype(np.float64) * (highs - lows)
            seeds = rng.integers(2**31, size=per_round).tolist()
            xs = []
            for x in pool.imap(_simulate, zip(values, seeds), chunksize=16):
                xs.append(x)
                done += 1
                if progress and done % 100 == 0:
                    progress(done)
            inference.append_simulations(theta, torch.tensor(np.array(xs), dtype=torch.float32))
            with contextlib.redirect_stdout(io.StringIO()):  # sbi prints every epoch; our bar shows progress
                estimator = inference.train(force_first_round_loss=True, show_train_summary=False)
            posterior = inference.build_posterior(estimator).set_default_x(x_o)
            if r < rounds - 1:
                accept = get_density_thresholder(posterior, quantile=1e-4, num_samples_to_estimate_support=20_000)
                # sampling importance resampling from the posterior: plain rejection from the
                # prior stalls when the posterior is narrow
                proposal = RestrictedPrior(box, accept, posterior=posterior, sample_with="sir")
    samples = posterior.sample((4000,), x=x_o, show_progress_bars=False).numpy().astype(np.float64)
    return Posterior(list(names), lows, highs, lows + samples * (highs - lows), done, time.perf_counter() - t0)
