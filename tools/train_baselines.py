"""Training-quality baselines (a benchmark, not a CI test): PPO on UAV-v0 hover and on Nav-v0
with LIDAR observations, each with its family config and a wall-clock budget, then 50
evaluation episodes on the nominal sim (seeds far from training's).

Targets (issue #9): ≥ 90% hover success on UAV-v0 and ≥ 80% on Nav-v0, each trained in
≤ 30 minutes on 2 cores. Run one at a time on a shared machine (`nice -n 10`).

    python tools/train_baselines.py [--only uav|nav] [--budget-min 30] [--episodes 50]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from benchmark import report  # noqa: E402

from simsuite.agents.evaluate import evaluate  # noqa: E402
from simsuite.agents.train import train  # noqa: E402

BASELINES = {  # name -> (env id, config in agents/configs, success target)
    "uav": ("SimSuite/UAV-v0", "uav", 0.90),
    "nav": ("SimSuite/Nav-v0", "nav", 0.80),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", choices=sorted(BASELINES), nargs="+", default=sorted(BASELINES, reverse=True))
    parser.add_argument("--budget-min", type=float, default=30.0, help="wall-clock training budget per baseline")
    parser.add_argument("--timesteps", type=float, default=None, help="cap on env steps (default: the config's)")
    parser.add_argument("--episodes", type=int, default=50)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="runs/baselines")
    args = parser.parse_args()
    rows, results = [], {}
    for name in args.only:
        env_id, config, target = BASELINES[name]
        run = train(env_id, config, timesteps=None if args.timesteps is None else int(args.timesteps), seed=args.seed,
                    out_dir=Path(args.out) / name, time_limit_s=60 * args.budget_min)
        meta = json.loads((run / "run.json").read_text())
        res = evaluate(run, episodes=args.episodes, progress=True)
        s = res.summary()
        lo, hi = s["success_ci95"]
        results[name] = {"run": str(run), "train": {k: meta[k] for k in ("num_timesteps", "wall_s", "steps_per_s")}, "eval": s}
        rows.append([env_id, config, f"{meta['num_timesteps']:,}", f"{meta['wall_s'] / 60:.1f}", f"{meta['steps_per_s']:,.0f}",
                     f"{s['success_rate']:.0%} [{lo:.0%}, {hi:.0%}]", f"{s['mean_return']:.1f}", f"{target:.0%}"])
    report("train_baselines", ["env", "config", "env steps", "train min", "steps/s", "success [95% CI]", "return", "target"],
           rows, {"results": results})


if __name__ == "__main__":
    main()
