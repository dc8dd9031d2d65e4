"""NPE calibration check (issue 7): over seeded hidden-parameter PROXY instances of UAV-v0, how
often each parameter's 90 % credible interval holds the hidden truth, and how wide the
posterior is against the prior (near 1: not identified). Writes runs/bench/npe_coverage.json.

    python tools/npe_coverage.py [--instances 20] [--simulations 5000]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import gymnasium
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from benchmark import report  # noqa: E402

import simsuite  # noqa: E402,F401
from simsuite.agents.experts import make_expert  # noqa: E402
from simsuite.calibration.cli import DEFAULT_NAMES, OBS_DIMS, SENSOR_NOISE  # noqa: E402
from simsuite.calibration.collect import collect, draw_hidden  # noqa: E402
from simsuite.calibration.npe import fit_npe  # noqa: E402

ENV_ID = "SimSuite/UAV-v0"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--instances", type=int, default=20)
    ap.add_argument("--simulations", type=int, default=5000)
    args = ap.parse_args()
    names = DEFAULT_NAMES[ENV_ID]
    env = gymnasium.make(ENV_ID)
    prior = env.unwrapped.param_space
    hits, widths, walls = {n: [] for n in names}, {n: [] for n in names}, []
    for seed in range(args.instances):
        truth = draw_hidden(prior, names, np.random.default_rng(seed), 0.3, {"actuation.latency_s": (0.0, 0.04)})
        data = collect(env, make_expert, 5, 250, seed=1000 + seed, params={**truth, **SENSOR_NOISE}, noise=0.02)
        post = fit_npe(lambda: gymnasium.make(ENV_ID), data, prior, names, OBS_DIMS[ENV_ID], SENSOR_NOISE["observation.noise_std"],
                       simulations=args.simulations, seed=seed)
        walls.append(post.wall_s)
        for n in names:
            low, high = post.interval(n, 0.9)
            hits[n].append(bool(low <= truth[n] <= high))
            widths[n].append(post.width_ratio(n))
        print(f"instance {seed}: " + ", ".join(f"{n} {'in' if hits[n][-1] else 'OUT'} (width {widths[n][-1]:.2f})" for n in names)
              + f"  {post.wall_s:.0f} s", flush=True)
    rows = [[n, f"{np.mean(hits[n]):.0%}", f"{np.median(widths[n]):.2f}"] for n in names]
    report("npe_coverage", ["parameter", "90% interval covers truth", "posterior/prior width"], rows,
           {"instances": args.instances, "simulations": args.simulations, "wall_s": walls})


if __name__ == "__main__":
    main()
