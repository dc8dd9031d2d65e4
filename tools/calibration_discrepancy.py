"""Trajectory discrepancy before and after calibration (issue 7): for each env and PROXY
reality, CMA-ES (DROPO) fits the family's parameters, then the nominal and the calibrated
simulator replay the proxy's actions (segments restarted from its states) and their RMS
observation errors are compared. Proxies:

- ``unmodeled``: hidden parameters ±30 % off nominal plus effects the fitted model lacks
  (sensor noise, action noise, wind for UAV-v0, action delay for Drive-v0);
- ``backend``: PyBullet as the reality of the MuJoCo model (engine-neutral states), no noise.

Writes runs/bench/calibration_discrepancy.json.

    python tools/calibration_discrepancy.py [--env SimSuite/Drive-v0] [--proxy backend] [--generations 15]
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
from calibration_study import single_env_rate  # noqa: E402

import simsuite  # noqa: E402,F401
from simsuite.agents.experts import make_expert  # noqa: E402
from simsuite.calibration.cli import DEFAULT_NAMES  # noqa: E402
from simsuite.calibration.collect import collect, draw_hidden  # noqa: E402
from simsuite.calibration.dropo import Transitions, fit_cmaes  # noqa: E402
from simsuite.calibration.report import one_step_error, trajectory_error  # noqa: E402

UNMODELED = {  # what the proxy has and the fitted model lacks
    "SimSuite/UAV-v0": {"observation.noise_std": 0.005, "actuation.noise_std": 0.02, "wind.speed_m_s": 0.5},
    "SimSuite/Drive-v0": {"observation.noise_std": 0.005, "actuation.noise_std": 0.02, "actuation.latency_s": 0.05},
}
SEGMENT_S = 0.5  # replay length between re-synchronizations [s]


def study(env_id: str, proxy: str, seed: int, rollouts: int, seconds: float, generations: int,
          unmodeled: dict[str, float]) -> dict:
    env = gymnasium.make(env_id)
    prior, names = env.unwrapped.param_space, DEFAULT_NAMES[env_id]
    dt = env.unwrapped.task.control_dt_s
    if proxy == "unmodeled":
        truth = draw_hidden(prior, names, np.random.default_rng(seed), 0.3, {"actuation.latency_s": (0.0, 0.04)})
        reality, params, portable = env, {**truth, **unmodeled}, False
    else:
        truth, reality, params, portable = None, gymnasium.make(env_id, backend="pybullet"), {}, True
    data = collect(reality, make_expert, rollouts, int(round(seconds / dt)), seed=1000 + seed, params=params, noise=0.02,
                   source=f"proxy:{proxy}", portable=portable)
    nominal = {n: prior[n].nominal for n in names}
    check, segment = Transitions.from_rollouts(data, every=3), max(1, int(round(SEGMENT_S / dt)))
    # the likelihood's noise floor: the sensor's σ, or (noise-free engines) the nominal model's own error scale
    floor = max(unmodeled.get("observation.noise_std", 0.0), 1e-3) if proxy == "unmodeled" else max(one_step_error(env, names, nominal, check), 1e-6)
    t0 = time.perf_counter()
    fit = fit_cmaes(lambda: gymnasium.make(env_id), data, prior, names, seed=seed, generations=generations, k_samples=3, every=3,
                    obs_floor=floor, progress=lambda g, v: print(f"  generation {g}/{generations}: log-likelihood {v:.1f}", flush=True))
    wall = time.perf_counter() - t0
    row = {"env": env_id, "proxy": proxy, "unmodeled": unmodeled if proxy == "unmodeled" else {}, "truth": truth, "fitted": fit.mean, "fit_wall_s": wall, "sim_steps": fit.sim_steps,
           "obs_floor": floor}
    for label, values in (("nominal", nominal), ("calibrated", fit.mean)) + ((("truth", truth),) if truth else ()):
        row[f"one_step_{label}"] = one_step_error(env, names, values, check)
        row[f"trajectory_{label}"] = trajectory_error(env, values, data, segment)
    row["fit_steps_per_s"], row["single_env_steps_per_s"] = fit.sim_steps / wall, single_env_rate(env)
    row["reduction"] = 1 - row["trajectory_calibrated"] / row["trajectory_nominal"] if row["trajectory_nominal"] > 0 else 0.0
    print(f"{env_id} proxy={proxy}: fitted {fit.mean}" + (f" truth {truth}" if truth else ""), flush=True)
    print(f"  trajectory RMS nominal {row['trajectory_nominal']:.5f} → calibrated {row['trajectory_calibrated']:.5f}"
          f" ({row['reduction']:.0%} less); one-step {row['one_step_nominal']:.5f} → {row['one_step_calibrated']:.5f}; fit {wall:.0f} s, "
          f"{row['fit_steps_per_s']:.0f} steps/s in the fit vs {row['single_env_steps_per_s']:.0f} single-env", flush=True)
    return row


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--env", action="append", help="default: UAV-v0 and Drive-v0")
    ap.add_argument("--proxy", action="append", choices=["unmodeled", "backend"], help="default: both")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--rollouts", type=int, default=3)
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument("--generations", type=int, default=15)
    ap.add_argument("--unmodeled", default="", help="the proxy's unmodeled effects, e.g. observation.noise_std=0.005,wind.speed_m_s=0.2 "
                    "(default: the env's entry in UNMODELED)")
    args = ap.parse_args()
    given = {k: float(v) for k, v in (item.split("=", 1) for item in args.unmodeled.split(",") if item)}
    envs, proxies = args.env or ["SimSuite/UAV-v0", "SimSuite/Drive-v0"], args.proxy or ["unmodeled", "backend"]
    rows = [study(e, p, args.seed, args.rollouts, args.seconds, args.generations, given or UNMODELED[e]) for e in envs for p in proxies]
    table = [[r["env"].split("/")[-1], r["proxy"], f"{r['trajectory_nominal']:.5f}", f"{r['trajectory_calibrated']:.5f}",
              f"{r['reduction']:.0%}", f"{r.get('trajectory_truth', float('nan')):.5f}", f"{r['fit_wall_s']:.0f}"] for r in rows]
    name = "calibration_discrepancy" + "".join(f"_{e.split('/')[-1]}" for e in envs) + "".join(f"_{p}" for p in proxies)
    report(name, ["env", "proxy", "trajectory RMS nominal", "calibrated", "reduction", "truth", "fit s"], table,
           {"rows": rows, "segment_s": SEGMENT_S})


if __name__ == "__main__":
    main()
