"""Calibration accuracy over seeds (issue 7's table): for each seed, a hidden-parameter PROXY
of the env (±30 % off nominal, latency 0–40 ms, plus observation noise), rollouts with the
scripted expert, a CMA-ES (DROPO) fit; prints per-parameter median relative error (latency:
absolute) and wall-clock, and writes runs/bench/calibration_<env>.json.

    python tools/calibration_study.py [--env SimSuite/UAV-v0] [--seeds 5] [--generations 20]
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
from simsuite.calibration.cli import DEFAULT_NAMES  # noqa: E402
from simsuite.calibration.collect import collect, draw_hidden  # noqa: E402
from simsuite.calibration.dropo import fit_cmaes  # noqa: E402


def error(name: str, fitted: float, truth: float) -> float:
    return abs(fitted - truth) if name.endswith("latency_s") else abs(fitted - truth) / abs(truth)


def _value(text: str):
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--env", default="SimSuite/UAV-v0")
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--rollouts", type=int, default=5)
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument("--generations", type=int, default=20)
    ap.add_argument("--option", action="append", default=[], help="env option key=value, e.g. mission=waypoints")
    args = ap.parse_args()
    options = {k: _value(v) for k, v in (o.split("=", 1) for o in args.option)}
    names = DEFAULT_NAMES[args.env]
    env = gymnasium.make(args.env, **options)
    prior = env.unwrapped.param_space
    steps = int(round(args.seconds / env.unwrapped.task.control_dt_s))
    errors, walls, sims = {n: [] for n in names}, [], []
    for seed in range(args.seeds):
        truth = draw_hidden(prior, names, np.random.default_rng(seed), 0.3, {"actuation.latency_s": (0.0, 0.04)})
        data = collect(env, make_expert, args.rollouts, steps, seed=1000 + seed, params={**truth, "observation.noise_std": 0.005},
                       noise=0.02, source="proxy:hidden")
        t0 = time.perf_counter()
        fit = fit_cmaes(lambda: gymnasium.make(args.env, **options), data, prior, names, seed=seed, generations=args.generations,
                        k_samples=3, every=3, obs_floor=0.005)
        walls.append(time.perf_counter() - t0)
        sims.append(fit.sim_steps)
        for n in names:
            errors[n].append(error(n, fit.mean[n], truth[n]))
        print(f"seed {seed}: " + ", ".join(f"{n} {errors[n][-1]:.3g}" for n in names) + f"  ({walls[-1]:.0f} s)", flush=True)
    rows = [[n, "abs [s]" if n.endswith("latency_s") else "relative", f"{np.median(errors[n]):.3g}", f"{np.max(errors[n]):.3g}"] for n in names]
    report(f"calibration_{args.env.split('/')[-1]}" + "".join(f"_{v}" for v in options.values()), ["parameter", "error", "median", "worst"], rows,
           {"seeds": args.seeds, "wall_s": walls, "sim_control_steps": sims, "errors": errors})
    print(f"fit wall-clock: median {np.median(walls):.0f} s; simulated control steps per fit: {int(np.median(sims)):,}")


if __name__ == "__main__":
    main()
