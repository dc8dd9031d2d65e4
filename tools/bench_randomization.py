"""Cost of domain randomization: reset time and step throughput with the family's full
default space on (``randomize=True``) against the same env without it, in the same process.
Bars (issue 6): ≤ 10 % of step throughput; a randomized reset under 5 ms on MuJoCo for
Grasp-v0 and UAV-v0 (only parameters change: no world rebuild).

    python tools/bench_randomization.py [--steps 2000] [--resets 200]
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

IDS = ("SimSuite/Grasp-v0", "SimSuite/UAV-v0", "SimSuite/Nav-v0", "SimSuite/Drive-v0")


def measure(env_id: str, backend: str, randomize: bool, steps: int, resets: int) -> tuple[float, float]:
    """(median reset time [ms] on the compiled world, steps per CPU second of stepping)."""
    # grasp/nav/drive rebuild their world on a new seed or every few episodes: keep it to time parameter resets
    options = {"rebuild_every": 10_000} if "Grasp" in env_id else {"episodes_per_plan": 10_000} if "Nav" in env_id else \
        {"episodes_per_world": 10_000} if "Drive" in env_id else {}
    env = gymnasium.make(env_id, backend=backend, randomize=randomize, **options).unwrapped
    env.reset(seed=0)
    times = []
    for _ in range(resets):
        t0 = time.perf_counter()
        env.reset()
        times.append(time.perf_counter() - t0)
    action = np.zeros(env.action_space.shape, np.float32)
    best = 0.0
    for _ in range(3):  # steps only: resets (timed above) happen outside the clock
        spent = 0.0
        for _ in range(steps):
            t0 = time.process_time()
            done = env.step(action)[2]
            spent += time.process_time() - t0
            if done:
                env.reset()
        best = max(best, steps / max(spent, 1e-9))
    env.close()
    return 1e3 * float(np.median(times)), best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=2000)
    ap.add_argument("--resets", type=int, default=200)
    ap.add_argument("--backends", nargs="+", default=["mujoco", "pybullet"])
    args = ap.parse_args()
    rows = []
    for env_id in IDS:
        for backend in args.backends:
            r0, s0 = measure(env_id, backend, False, args.steps, args.resets)
            r1, s1 = measure(env_id, backend, True, args.steps, args.resets)
            rows.append([env_id, backend, f"{r0:.2f}", f"{r1:.2f}", f"{s0:,.0f}", f"{s1:,.0f}", f"{s1 / s0:.2f}"])
            print(*rows[-1], flush=True)
    report("randomization", ["env", "backend", "reset ms", "reset ms rand", "steps/s", "steps/s rand", "ratio"], rows)


if __name__ == "__main__":
    main()
