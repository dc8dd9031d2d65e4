"""Which parameters an experiment identifies (issue 7), before paying for a fit: for seeded
hidden-parameter PROXY instances (±30 % off nominal, plus observation noise), the proxy runs
the experiment; at the hidden truth, the noise-free one-step replays give (1) the likelihood
slice across the prior, one parameter at a time: the share of the prior within a
log-likelihood drop of 2 of the best (below 0.5: identified; near 1: the data cannot tell its
values apart), and (2) the Laplace standard deviation σ·sqrt(diag((JᵀJ)⁻¹)) over the prior's
(uniform) one, which assumes a smooth cost (contact-rich replays are not: there it claims
precision the slice does not show). Compares the family's designed experiment
(simsuite.calibration.excitation) with its scripted expert.

    python tools/calibration_identifiability.py [--env SimSuite/Grasp-v0] [--instances 3] [--rollouts 5] [--seconds 5]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import gymnasium
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from benchmark import report  # noqa: E402

import simsuite  # noqa: E402,F401
from simsuite.agents.experts import make_expert  # noqa: E402
from simsuite.calibration.cli import DEFAULT_NAMES, FIT_DIMS, SENSOR_NOISE  # noqa: E402
from simsuite.calibration.collect import collect, draw_hidden  # noqa: E402
from simsuite.calibration.dropo import Transitions, predict  # noqa: E402
from simsuite.calibration.localize import fd_steps, jacobian, likelihood_share  # noqa: E402
from simsuite.calibration.excitation import experiment  # noqa: E402

IDENTIFIED = 0.5  # prior share not ruled out below this: identified


def identifiability(env, names: list[str], truth: dict[str, float], data, dims, noise_std: float) -> tuple[np.ndarray, np.ndarray]:
    """Per parameter: the prior share the likelihood slice at the truth cannot rule out, and
    the Laplace std / prior std from the one-step replays' Jacobian there."""
    sim, prior = env.unwrapped, env.unwrapped.param_space
    lows, highs = prior.subset(names).bounds()
    tr = Transitions.from_rollouts(data, every=2)
    steps, _ = fd_steps(lambda: gymnasium.make(env.spec.id), names, lows, highs)
    center = (np.array([truth[n] for n in names]) - lows) / (highs - lows)
    sel = np.arange(tr.next_obs.shape[1]) if dims is None else np.asarray(dims)
    def simulate(points):
        return [predict(sim, names, lows + p * (highs - lows), tr)[:, sel].ravel() for p in points]

    _, jac = jacobian(simulate, center, steps)
    info = jac.T @ jac / noise_std**2
    sd = np.sqrt(np.diag(np.linalg.pinv(info + 1e-9 * np.eye(len(names)))))
    share = likelihood_share(simulate, tr.next_obs[:, sel].ravel(), center, noise_std)
    return share, sd * np.sqrt(12.0)  # normalized units: the uniform prior's std is 1/sqrt(12)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--env", default="SimSuite/Grasp-v0")
    ap.add_argument("--instances", type=int, default=3)
    ap.add_argument("--rollouts", type=int, default=5)
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument("--experiments", default="designed,expert")
    args = ap.parse_args()
    env = gymnasium.make(args.env)
    names, dims, noise = DEFAULT_NAMES[args.env], FIT_DIMS.get(args.env), SENSOR_NOISE["observation.noise_std"]
    prior = env.unwrapped.param_space
    steps = int(round(args.seconds / env.unwrapped.task.control_dt_s))
    ratios: dict[str, list[np.ndarray]] = {}
    shares: dict[str, list[np.ndarray]] = {}
    for kind in args.experiments.split(","):
        ratios[kind], shares[kind] = [], []
        for seed in range(args.instances):
            t0 = time.perf_counter()
            truth = draw_hidden(prior, names, np.random.default_rng(seed), 0.3, {"actuation.latency_s": (0.0, 0.04)})
            policy = experiment(1000 + seed) if kind == "designed" else make_expert
            data = collect(env, policy, args.rollouts, steps, seed=1000 + seed, params={**truth, **SENSOR_NOISE}, noise=0.02)
            share, r = identifiability(env, names, truth, data, dims, noise)
            ratios[kind].append(r)
            shares[kind].append(share)
            print(f"{kind} instance {seed}: " + ", ".join(f"{n} share {s:.2f}, Laplace {v:.2f}" for n, s, v in zip(names, share, r))
                  + f"  ({sum(d.steps for d in data)} transitions, {time.perf_counter() - t0:.0f} s)", flush=True)
    table = [[n] + [f"{np.median([s[i] for s in shares[k]]):.2f} ({sum(s[i] < IDENTIFIED for s in shares[k])}/{len(shares[k])}); "
                    f"{np.median([r[i] for r in ratios[k]]):.2f}" for k in ratios] for i, n in enumerate(names)]
    report(f"calibration_identifiability_{args.env.split('/')[-1]}",
           ["parameter"] + [f"{k}: prior share not ruled out (identified); Laplace/prior std" for k in ratios], table,
           {"laplace_ratio": {k: [r.tolist() for r in v] for k, v in ratios.items()},
            "likelihood_share": {k: [s.tolist() for s in v] for k, v in shares.items()}, "names": names})


if __name__ == "__main__":
    main()
