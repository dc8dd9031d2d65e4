"""Calibration accuracy over seeds (issue 7's table): for each seed, a hidden-parameter PROXY
of the env (±30 % off nominal, latency 0–40 ms, plus observation noise), rollouts of the
family's designed experiment (or ``--experiment expert``), a CMA-ES (DROPO) fit; prints
per-parameter median and worst relative error (latency: absolute), which parameters the data
identify (the share of the prior the fit's likelihood slice cannot rule out, below 0.5;
the Laplace width beside it), wall-clock, simulated control steps, and the fit's simulation
throughput (all workers) against single-env stepping measured in the same run. Writes
runs/bench/calibration_<env>.json.

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
from simsuite.calibration.cli import DEFAULT_NAMES, FIT_DIMS  # noqa: E402
from simsuite.calibration.collect import collect, draw_hidden  # noqa: E402
from simsuite.calibration.excitation import experiment  # noqa: E402
from simsuite.calibration.dropo import fit_cmaes  # noqa: E402


IDENTIFIED = 0.5  # share of the prior the likelihood slice cannot rule out below this: identified


def error(name: str, fitted: float, truth: float) -> float:
    return abs(fitted - truth) if name.endswith("latency_s") else abs(fitted - truth) / abs(truth)


def _value(text: str):
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def single_env_rate(env: gymnasium.Env, steps: int = 300) -> float:
    """Control steps per second of one env stepping with random actions (the baseline)."""
    env.reset(seed=0)
    rng = np.random.default_rng(0)
    t0 = time.perf_counter()
    for _ in range(steps):
        if any(env.step(rng.uniform(env.action_space.low, env.action_space.high).astype(np.float32))[2:4]):
            env.reset()
    return steps / (time.perf_counter() - t0)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--env", default="SimSuite/UAV-v0")
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--first", type=int, default=0, help="first seed")
    ap.add_argument("--cold-start", action="store_true", help="CMA-ES from nominal with wide spreads (no least-squares warm start)")
    ap.add_argument("--rollouts", type=int, default=5)
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument("--generations", type=int, default=20)
    ap.add_argument("--popsize", type=int, default=10)
    ap.add_argument("--k-samples", type=int, default=3, help="parameter sets per candidate")
    ap.add_argument("--every", type=int, default=3, help="use every n-th transition")
    ap.add_argument("--experiment", choices=("designed", "expert"), default="designed",
                    help="what the proxy flies: the family's informative design (simsuite.calibration.excitation) or its scripted expert")
    ap.add_argument("--grid", type=int, default=0, help="start the least-squares fit from the best of this many points per parameter (jagged contact costs: Grasp)")
    ap.add_argument("--option", action="append", default=[], help="env option key=value, e.g. mission=waypoints")
    args = ap.parse_args()
    options = {k: _value(v) for k, v in (o.split("=", 1) for o in args.option)}
    names = DEFAULT_NAMES[args.env]
    env = gymnasium.make(args.env, **options)
    prior = env.unwrapped.param_space
    steps = int(round(args.seconds / env.unwrapped.task.control_dt_s))
    errors, walls, sims, rates, singles, transitions = {n: [] for n in names}, [], [], [], [], []
    laplace = {n: [] for n in names}  # the least-squares Laplace σ over the prior's
    share = {n: [] for n in names}  # the share of the prior the likelihood slice cannot rule out: < 0.5 identified
    for seed in range(args.first, args.first + args.seeds):
        truth = draw_hidden(prior, names, np.random.default_rng(seed), 0.3, {"actuation.latency_s": (0.0, 0.04)})
        data = collect(env, experiment(1000 + seed) if args.experiment == "designed" else make_expert, args.rollouts, steps, seed=1000 + seed, params={**truth, "observation.noise_std": 0.005},
                       noise=0.02, source="proxy:hidden")
        transitions.append(sum(r.steps for r in data))
        singles.append(single_env_rate(env))
        t0 = time.perf_counter()
        fit = fit_cmaes(lambda: gymnasium.make(args.env, **options), data, prior, names, seed=seed, generations=args.generations,
                        k_samples=args.k_samples, every=args.every, popsize=args.popsize, obs_floor=0.005, warm_start=not args.cold_start,
                        dims=FIT_DIMS.get(args.env), grid=args.grid,
                        progress=lambda g, v: print(f"  generation {g}/{args.generations}: log-likelihood {v:.1f}", flush=True))
        walls.append(time.perf_counter() - t0)
        sims.append(fit.sim_steps)
        rates.append(fit.sim_steps / walls[-1])
        for n in names:
            errors[n].append(error(n, fit.mean[n], truth[n]))
            laplace[n].append(fit.laplace_ratio(n) if fit.laplace_std else float("nan"))
            share[n].append(fit.likelihood_share[n])
        print(f"seed {seed}: " + ", ".join(f"{n} {errors[n][-1]:.3g} (fit {fit.mean[n]:.4g}, truth {truth[n]:.4g}, "
                                           f"prior share not ruled out {share[n][-1]:.2f}, Laplace/prior {laplace[n][-1]:.2f})" for n in names)
              + f"  ({walls[-1]:.0f} s; {rates[-1]:.0f} steps/s in the fit vs {singles[-1]:.0f} single-env)", flush=True)
    print(f"transitions per seed: {transitions}")
    def where_identified(n: str) -> str:
        sel = [e for e, w in zip(errors[n], share[n]) if w < IDENTIFIED]
        return f"{np.median(sel):.3g}" if sel else "-"

    rows = [[n, "abs [s]" if n.endswith("latency_s") else "relative", f"{np.median(errors[n]):.3g}", f"{np.max(errors[n]):.3g}",
             f"{sum(w < IDENTIFIED for w in share[n])}/{len(share[n])}", f"{np.median(share[n]):.2f}", f"{np.median(laplace[n]):.2f}",
             where_identified(n)]
            for n in names]
    report(f"calibration_{args.env.split('/')[-1]}" + "".join(f"_{v}" for v in options.values()) + ("_expert" if args.experiment == "expert" else "") + ("_cold" if args.cold_start else "") + (f"_grid{args.grid}" if args.grid else "") + (f"_from{args.first}" if args.first else ""), ["parameter", "error", "median", "worst",
           f"identified (prior share < {IDENTIFIED})", "prior share not ruled out (median)", "Laplace/prior std (median)",
           "median where identified"], rows,
           {"seeds": list(range(args.first, args.first + args.seeds)), "experiment": args.experiment, "grid": args.grid, "warm_start": not args.cold_start, "transitions": transitions, "wall_s": walls, "sim_control_steps": sims, "errors": errors, "laplace_ratio": laplace, "likelihood_share": share,
            "fit_steps_per_s": rates, "single_env_steps_per_s": singles})
    print(f"fit wall-clock: median {np.median(walls):.0f} s; simulated control steps per fit: {int(np.median(sims)):,}; "
          f"throughput in the fit {np.median(rates):.0f} steps/s vs single env {np.median(singles):.0f} steps/s "
          f"(ratio {np.median(np.array(rates) / np.array(singles)):.2f})")


if __name__ == "__main__":
    main()
