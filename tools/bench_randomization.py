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


def make_env(env_id: str, backend: str, randomize: bool):
    # grasp/nav/drive rebuild their world on a new seed or every few episodes: keep it to time parameter resets
    options = {"rebuild_every": 10_000} if "Grasp" in env_id else {"episodes_per_plan": 10_000} if "Nav" in env_id else \
        {"episodes_per_world": 10_000} if "Drive" in env_id else {}
    env = gymnasium.make(env_id, backend=backend, randomize=randomize, **options).unwrapped
    env.reset(seed=0)
    return env


def reset_ms(env, resets: int) -> float:
    """Median wall time of a reset on the compiled world [ms]."""
    times = []
    for _ in range(resets):
        t0 = time.perf_counter()
        env.reset()
        times.append(time.perf_counter() - t0)
    return 1e3 * float(np.median(times))


def step_rate(env, steps: int) -> float:
    """Steps per CPU second of stepping; resets (timed apart) happen outside the clock."""
    action = np.zeros(env.action_space.shape, np.float32)
    spent = 0.0
    for _ in range(steps):
        t0 = time.process_time()
        done = env.step(action)[2]
        spent += time.process_time() - t0
        if done:
            env.reset()
    return steps / max(spent, 1e-9)


def measure(env_id: str, backend: str, steps: int, resets: int, rounds: int = 5) -> list[object]:
    """Reset times and step rates with randomization off and on. The two envs step in
    alternating rounds (each keeps its best), so load from other processes hits both alike."""
    envs = {flag: make_env(env_id, backend, flag) for flag in (False, True)}
    resets_ms = {flag: reset_ms(env, resets) for flag, env in envs.items()}
    best = dict.fromkeys(envs, 0.0)
    for _ in range(rounds):
        for flag, env in envs.items():
            best[flag] = max(best[flag], step_rate(env, steps // rounds))
    for env in envs.values():
        env.close()
    s0, s1 = best[False], best[True]
    return [env_id, backend, f"{resets_ms[False]:.2f}", f"{resets_ms[True]:.2f}", f"{s0:,.0f}", f"{s1:,.0f}", f"{s1 / s0:.2f}"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=2000)
    ap.add_argument("--resets", type=int, default=200)
    ap.add_argument("--backends", nargs="+", default=["mujoco", "pybullet"])
    ap.add_argument("--ids", nargs="+", default=list(IDS))
    args = ap.parse_args()
    rows = []
    for env_id in args.ids:
        for backend in args.backends:
            rows.append(measure(env_id, backend, args.steps, args.resets))
            print(*rows[-1], flush=True)
    report("randomization", ["env", "backend", "reset ms", "reset ms rand", "steps/s", "steps/s rand", "ratio"], rows)


if __name__ == "__main__":
    main()
