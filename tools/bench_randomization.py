"""Cost of domain randomization: reset time and step throughput with the family's full
default space on (``randomize=True``) against the same env without it, in the same process.
Bars (issue 6): ≤ 10 % of step throughput; a randomized reset under 5 ms on MuJoCo for
Grasp-v0 and UAV-v0 (only parameters change: no world rebuild).

    python tools/bench_randomization.py [--episodes 1] [--rounds 20] [--resets 200]
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


def step_rate(env, seeds: range, max_steps: int) -> float:
    """Env steps per second of stepping while the family's scripted expert flies, drives or
    grasps (its own time and the resets are outside the clock), over one episode per seed
    (at most ``max_steps`` long).
    The expert keeps episodes long and alike with and without randomization: random actions
    end them after a few dozen steps, at different times, and the cold first steps after
    each reset would then weigh differently in the two envs."""
    spent, steps = 0.0, 0
    for seed in seeds:
        obs, _ = env.reset(seed=seed)
        policy = make_expert(env)
        done, left = False, max_steps
        while not done and left:
            action = policy(obs)
            t0 = time.perf_counter()
            obs, _, terminated, truncated, _ = env.step(action)
            spent += time.perf_counter() - t0
            steps, left = steps + 1, left - 1
            done = terminated or truncated
    return steps / max(spent, 1e-9)


def measure(env_id: str, backend: str, episodes: int, resets: int, rounds: int = 5, max_steps: int = 300) -> list[object]:
    """Reset times and step rates with randomization off and on. The two envs fly the same
    seeded episodes back to back, in alternating order, round after round. The ratio is the
    median over rounds of each round's pair: on a machine whose speed drifts (other
    processes, the host's memory daemon) two adjacent runs see the same conditions, and the
    median drops the rounds that a pause hit. Episodes stop at the registered limit or
    ``max_steps``."""
    max_steps = min(max_steps, gymnasium.spec(env_id).max_episode_steps or max_steps)
    envs = {flag: make_env(env_id, backend, flag) for flag in (False, True)}
    resets_ms = {flag: reset_ms(env, resets) for flag, env in envs.items()}
    best, ratios = dict.fromkeys(envs, 0.0), []
    for r in range(rounds):
        seeds = range(r * episodes, (r + 1) * episodes)
        rates = {flag: step_rate(envs[flag], seeds, max_steps) for flag in ((False, True) if r % 2 == 0 else (True, False))}
        ratios.append(rates[True] / rates[False])
        best = {flag: max(best[flag], rates[flag]) for flag in envs}
    for env in envs.values():
        env.close()
    return [env_id, backend, f"{resets_ms[False]:.2f}", f"{resets_ms[True]:.2f}", f"{best[False]:,.0f}", f"{best[True]:,.0f}",
            f"{np.median(ratios):.2f}", f"{np.percentile(ratios, 25):.2f}-{np.percentile(ratios, 75):.2f}"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--episodes", type=int, default=1, help="expert episodes per timed round")
    ap.add_argument("--rounds", type=int, default=20)
    ap.add_argument("--resets", type=int, default=200)
    ap.add_argument("--backends", nargs="+", default=["mujoco", "pybullet"])
    ap.add_argument("--ids", nargs="+", default=list(IDS))
    args = ap.parse_args()
    rows = []
    for env_id in args.ids:
        for backend in args.backends:
            rows.append(measure(env_id, backend, args.episodes, args.resets, args.rounds))
            print(*rows[-1], flush=True)
    report("randomization", ["env", "backend", "reset ms", "reset ms rand", "best steps/s", "best steps/s rand", "ratio", "ratio IQR"], rows)


if __name__ == "__main__":
    main()
