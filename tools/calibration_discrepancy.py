"""Trajectory discrepancy before and after calibration (issue 7): for each env and PROXY
reality, CMA-ES fits the family's parameters (DROPO or SimOpt, below), then the nominal and
the calibrated simulator replay the proxy's actions (segments restarted from its states) and
their RMS observation errors are compared. Proxies:

- ``unmodeled``: hidden parameters ±30 % off nominal plus effects the fitted model lacks
  (sensor noise, action noise, wind for UAV-v0, action delay for Drive-v0);
- ``backend``: PyBullet as the reality of the MuJoCo model (engine-neutral states), with the
  sensor noise of ``--backend-noise`` (0.005; 0 for none). Its noise floor is measured too: the
  same experiment recorded on MuJoCo itself (same noise) and replayed on MuJoCo, i.e. the
  discrepancy if the engines were identical. Only what exceeds that floor is an engine gap;
- ``backend-hidden``: PyBullet as the reality with hidden parameters (drawn as for
  ``unmodeled``): a robot whose parameters nobody knows, simulated by the other engine, so the
  engine gap is the unmodeled part. ``truth`` is then MuJoCo run with the hidden values: what
  is left when the parameters are exact, i.e. the engine gap plus the noise.

The fit is DROPO's (``--method cmaes``, one-step likelihood) or SimOpt's (``--method simopt``,
trajectory discrepancy of the same re-synchronized segments that are scored). Each fit is also
scored on held-out rollouts: a second run of the experiment (seed + 5000) that it never saw.
The proxy drives the family's designed experiment (``--experiment designed``,
simsuite.calibration.excitation: UAV circle, Drive slalom with hard braking) or its scripted
expert. Discrepancies are over the observation entries the fit compares (``FIT_DIMS``: Drive's
vehicle state without its clearance ring) and, for reference, over the whole observation.

Writes runs/bench/calibration_discrepancy_<envs>_<proxies>.json.

    python tools/calibration_discrepancy.py [--env SimSuite/Drive-v0] [--proxy backend-hidden] [--seeds 3] [--generations 15] [--experiment expert] [--method simopt]
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

import gymnasium
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from benchmark import report  # noqa: E402
from calibration_study import single_env_rate  # noqa: E402

import simsuite  # noqa: E402,F401
from simsuite.agents.experts import make_expert  # noqa: E402
from simsuite.calibration.cli import DEFAULT_NAMES, FIT_DIMS  # noqa: E402
from simsuite.calibration.collect import collect, draw_hidden  # noqa: E402
from simsuite.calibration.dropo import Transitions, fit_cmaes  # noqa: E402
from simsuite.calibration.excitation import experiment  # noqa: E402
from simsuite.calibration.report import one_step_error, trajectory_error  # noqa: E402
from simsuite.calibration.simopt import fit_simopt  # noqa: E402

UNMODELED = {  # what the proxy has and the fitted model lacks
    "SimSuite/UAV-v0": {"observation.noise_std": 0.005, "actuation.noise_std": 0.02, "wind.speed_m_s": 0.5},
    "SimSuite/Drive-v0": {"observation.noise_std": 0.005, "actuation.noise_std": 0.02, "actuation.latency_s": 0.05},
}
SEGMENT_S = 0.5  # replay length between re-synchronizations [s]


def study(env_id: str, proxy: str, seed: int, rollouts: int, seconds: float, generations: int,
          unmodeled: dict[str, float], designed: bool = True, backend_noise: float = 0.005, names: list[str] | None = None,
          method: str = "cmaes") -> dict:
    env = gymnasium.make(env_id)
    prior, names, dims = env.unwrapped.param_space, names or DEFAULT_NAMES[env_id], FIT_DIMS.get(env_id)
    dt = env.unwrapped.task.control_dt_s
    steps, segment = int(round(seconds / dt)), max(1, int(round(SEGMENT_S / dt)))
    policy = (lambda: experiment(1000 + seed)) if designed else (lambda: make_expert)
    noise = {"observation.noise_std": backend_noise} if backend_noise > 0 else {}
    truth = None if proxy == "backend" else draw_hidden(prior, names, np.random.default_rng(seed), 0.3, {"actuation.latency_s": (0.0, 0.04)})
    if proxy == "unmodeled":
        reality, params, portable = env, {**truth, **unmodeled}, False
    else:
        reality, params, portable = gymnasium.make(env_id, backend="pybullet"), {**(truth or {}), **noise}, True
    data = collect(reality, policy(), rollouts, steps, seed=1000 + seed, params=params, noise=0.02,
                   source=f"proxy:{proxy}", portable=portable)
    # rollouts the fit never sees: the calibrated model is judged on them too
    held_out = collect(reality, experiment(5000 + seed) if designed else make_expert, rollouts, steps, seed=5000 + seed,
                       params=params, noise=0.02, source=f"proxy:{proxy}", portable=portable)
    nominal = {n: prior[n].nominal for n in names}
    check = Transitions.from_rollouts(data, every=3)
    row = {"env": env_id, "proxy": proxy, "seed": seed, "unmodeled": unmodeled if proxy == "unmodeled" else noise, "truth": truth,
           "experiment": "designed" if designed else "expert", "dims": dims, "names": names, "method": method}
    if proxy.startswith("backend"):  # the floor: the same experiment on MuJoCo itself, replayed on MuJoCo
        own = collect(env, policy(), rollouts, steps, seed=1000 + seed, params={**(truth or {}), **noise}, noise=0.02, portable=True)
        row["floor_trajectory"] = trajectory_error(env, truth or nominal, own, segment, dims)
        row["floor_trajectory_all"] = trajectory_error(env, truth or nominal, own, segment)
    # the likelihood's noise floor: the sensor's σ, or (noise-free engines) the nominal model's own error scale
    sensor = (unmodeled if proxy == "unmodeled" else noise).get("observation.noise_std", 0.0)
    floor = max(sensor, 1e-3) if sensor > 0 or truth else max(one_step_error(env, names, nominal, check, dims), 1e-6)
    t0 = time.perf_counter()
    if method == "simopt":
        fit = fit_simopt(lambda: gymnasium.make(env_id), data, prior, names, segment_steps=segment, seed=seed, generations=generations,
                         dims=dims, obs_floor=floor,
                         progress=lambda g, v: print(f"  generation {g}/{generations}: expected discrepancy {v:.4f}", flush=True))
    else:
        fit = fit_cmaes(lambda: gymnasium.make(env_id), data, prior, names, seed=seed, generations=generations, k_samples=3, every=3,
                        obs_floor=floor, dims=dims,
                        progress=lambda g, v: print(f"  generation {g}/{generations}: log-likelihood {v:.1f}", flush=True))
    wall = time.perf_counter() - t0
    row.update({"fitted": fit.mean, "laplace_ratio": {n: fit.laplace_ratio(n) for n in fit.laplace_std},
                "likelihood_share": fit.likelihood_share, "fit_wall_s": wall,
                "sim_steps": fit.sim_steps, "obs_floor": floor})
    for label, values in (("nominal", nominal), ("calibrated", fit.mean)) + ((("truth", truth),) if truth else ()):
        row[f"one_step_{label}"] = one_step_error(env, names, values, check, dims)
        row[f"trajectory_{label}"] = trajectory_error(env, values, data, segment, dims)
        row[f"trajectory_all_{label}"] = trajectory_error(env, values, data, segment)
        row[f"held_out_{label}"] = trajectory_error(env, values, held_out, segment, dims)
    row["fit_steps_per_s"], row["single_env_steps_per_s"] = fit.sim_steps / wall, single_env_rate(env)
    row["reduction"] = 1 - row["trajectory_calibrated"] / row["trajectory_nominal"] if row["trajectory_nominal"] > 0 else 0.0
    row["held_out_reduction"] = 1 - row["held_out_calibrated"] / row["held_out_nominal"] if row["held_out_nominal"] > 0 else 0.0
    if "floor_trajectory" in row:  # the engine gap: what exceeds the noise floor (independent errors add in squares)
        gap = {k: math.sqrt(max(row[f"trajectory_{k}"] ** 2 - row["floor_trajectory"] ** 2, 0.0)) for k in ("nominal", "calibrated")}
        row["gap_nominal"], row["gap_calibrated"] = gap["nominal"], gap["calibrated"]
        row["gap_reduction"] = 1 - gap["calibrated"] / gap["nominal"] if gap["nominal"] > 0 else 0.0
    print(f"{env_id} proxy={proxy}: fitted {fit.mean}" + (f" truth {truth}" if truth else ""), flush=True)
    print(f"  trajectory RMS nominal {row['trajectory_nominal']:.5f} → calibrated {row['trajectory_calibrated']:.5f}"
          f" ({row['reduction']:.0%} less)" + (f"; noise floor {row['floor_trajectory']:.5f}" if "floor_trajectory" in row else "")
          + f"; held-out rollouts {row['held_out_nominal']:.5f} → {row['held_out_calibrated']:.5f} ({row['held_out_reduction']:.0%} less)"
          + f"; one-step {row['one_step_nominal']:.5f} → {row['one_step_calibrated']:.5f}; fit {wall:.0f} s, "
          f"{row['fit_steps_per_s']:.0f} steps/s in the fit vs {row['single_env_steps_per_s']:.0f} single-env", flush=True)
    return row


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--env", action="append", help="default: UAV-v0 and Drive-v0")
    ap.add_argument("--proxy", action="append", choices=["unmodeled", "backend", "backend-hidden"], help="default: all three")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--seeds", type=int, default=1, help="proxy instances per env and proxy (seeds seed, seed+1, ...)")
    ap.add_argument("--rollouts", type=int, default=3)
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument("--generations", type=int, default=15)
    ap.add_argument("--params", default="", help="comma-separated parameters to fit (default: the family's, DEFAULT_NAMES)")
    ap.add_argument("--experiment", choices=("designed", "expert"), default="designed")
    ap.add_argument("--method", choices=("cmaes", "simopt"), default="cmaes",
                    help="cmaes: DROPO one-step likelihood; simopt: trajectory discrepancy of re-synchronized segments")
    ap.add_argument("--backend-noise", type=float, default=0.005, help="sensor noise of the backend proxy [obs units]")
    ap.add_argument("--unmodeled", default="", help="the proxy's unmodeled effects, e.g. observation.noise_std=0.005,wind.speed_m_s=0.2 "
                    "(default: the env's entry in UNMODELED)")
    args = ap.parse_args()
    given = {k: float(v) for k, v in (item.split("=", 1) for item in args.unmodeled.split(",") if item)}
    envs, proxies = args.env or ["SimSuite/UAV-v0", "SimSuite/Drive-v0"], args.proxy or ["unmodeled", "backend", "backend-hidden"]
    rows = [study(e, p, seed, args.rollouts, args.seconds, args.generations, given or UNMODELED[e], args.experiment == "designed",
                  args.backend_noise, [n for n in args.params.split(",") if n] or None, args.method)
            for e in envs for p in proxies for seed in range(args.seed, args.seed + args.seeds)]
    nan = float("nan")
    table = [[r["env"].split("/")[-1], r["proxy"], str(r["seed"]), f"{r['trajectory_nominal']:.5f}", f"{r['trajectory_calibrated']:.5f}",
              f"{r['reduction']:.0%}", f"{r['held_out_reduction']:.0%}", f"{r.get('floor_trajectory', nan):.5f}", f"{r.get('gap_nominal', nan):.5f}",
              f"{r.get('gap_calibrated', nan):.5f}", f"{r.get('trajectory_truth', nan):.5f}",
              f"{r['trajectory_all_nominal']:.4f} / {r['trajectory_all_calibrated']:.4f}", f"{r['fit_wall_s']:.0f}"] for r in rows]
    name = ("calibration_discrepancy" + "".join(f"_{e.split('/')[-1]}" for e in envs) + "".join(f"_{p}" for p in proxies)
            + ("_expert" if args.experiment == "expert" else "") + ("_params" if args.params else "")
            + ("_simopt" if args.method == "simopt" else ""))
    for e in envs:  # over seeds: the median cut
        for p in proxies:
            for key, label in (("reduction", "fit rollouts"), ("held_out_reduction", "held-out rollouts")):
                cuts = [r[key] for r in rows if r["env"] == e and r["proxy"] == p]
                print(f"{e} proxy={p} ({args.method}): discrepancy cut by calibration on the {label}, median over {len(cuts)} seeds: "
                      f"{np.median(cuts):.0%} (min {min(cuts):.0%}, max {max(cuts):.0%})")
    report(name, ["env", "proxy", "seed", "trajectory RMS nominal", "calibrated", "reduction", "held-out reduction", "noise floor", "engine gap nominal",
                  "engine gap calibrated", "truth", "all entries nominal / calibrated", "fit s"], table,
           {"rows": rows, "segment_s": SEGMENT_S, "experiment": args.experiment})


if __name__ == "__main__":
    main()
