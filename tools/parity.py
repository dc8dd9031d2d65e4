"""Parity report: each family's scripted expert and a random policy on both engines, and
the MuJoCo–PyBullet trajectory gap under the same seed and the same action sequence.

The gap is the RMS position difference [m] and RMS orientation difference [rad] over the
bodies that move, after 1 s and 5 s of open-loop replay of the expert's MuJoCo actions. It is reported, not hidden: it is the
free stand-in for the reality gap that calibration later has to close.

    python tools/parity.py [--episodes 50] [--ids SimSuite/Nav-v0 ...]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import gymnasium
import numpy as np
from rich.progress import Progress

sys.path.insert(0, str(Path(__file__).resolve().parent))
from benchmark import report  # noqa: E402

import simsuite  # noqa: E402,F401
from simsuite.agents.experts import make_expert  # noqa: E402
from simsuite.backends import BACKENDS  # noqa: E402
from simsuite.cli import run_episode  # noqa: E402
from simsuite.registration import available_ids  # noqa: E402


def success_rate(env_id: str, backend: str, policy_name: str, episodes: int, progress: Progress) -> float:
    env = gymnasium.make(env_id, backend=backend)
    policy = make_expert(env) if policy_name == "expert" else (lambda obs: env.action_space.sample())
    env.action_space.seed(0)
    task = progress.add_task(f"{env_id} {backend} {policy_name}", total=episodes)
    wins = 0
    for seed in range(episodes):
        wins += run_episode(env, policy, seed)[2]
        progress.advance(task)
    env.close()
    return wins / episodes


def expert_actions(env_id: str, seed: int, horizon_s: float) -> list[np.ndarray]:
    """The expert's actions on MuJoCo, to replay open loop on both engines."""
    env = gymnasium.make(env_id, backend="mujoco")
    policy = make_expert(env)
    obs, _ = env.reset(seed=seed)
    actions = []
    for _ in range(round(horizon_s / env.unwrapped.task.control_dt_s)):
        actions.append(policy(obs))
        obs, _, terminated, truncated, _ = env.step(actions[-1])
        if terminated or truncated:
            break
    env.close()
    return actions


def poses(env_id: str, backend: str, seed: int, actions: list[np.ndarray]) -> np.ndarray:
    """All body poses after each replayed action: (steps + 1, bodies, 7) as pos + wxyz."""
    env = gymnasium.make(env_id, backend=backend)
    env.reset(seed=seed)

    def snapshot() -> np.ndarray:
        pos, quat = env.unwrapped.backend.body_poses()
        return np.concatenate([pos, quat], axis=1)

    out = [snapshot()]
    for action in actions:
        _, _, terminated, truncated, _ = env.step(action)
        out.append(snapshot())
        if terminated or truncated:
            break
    env.close()
    return np.asarray(out)


def trajectory_gap(env_id: str, seeds: range, times_s: tuple[float, ...]) -> list[float]:
    """RMS position [m] and orientation [rad] differences of the moving bodies at each
    time, averaged over seeds: [pos@t0, pos@t1, ..., angle@t0, angle@t1, ...]."""
    dt = gymnasium.make(env_id).unwrapped.task.control_dt_s
    pos_gaps = {t: [] for t in times_s}
    ang_gaps = {t: [] for t in times_s}
    for seed in seeds:
        actions = expert_actions(env_id, seed, max(times_s))
        a, b = (poses(env_id, name, seed, actions) for name in BACKENDS)
        n = min(len(a), len(b))
        moving = (np.ptp(a[:n], axis=0).max(axis=1) > 1e-6) | (np.ptp(b[:n], axis=0).max(axis=1) > 1e-6)
        for t in times_s:
            k = round(t / dt)
            if k >= n or not moving.any():
                continue
            d_pos = a[k, moving, :3] - b[k, moving, :3]
            dots = np.abs(np.sum(a[k, moving, 3:] * b[k, moving, 3:], axis=1)).clip(0.0, 1.0)
            pos_gaps[t].append(float(np.sqrt(np.mean(np.sum(d_pos**2, axis=1)))))
            ang_gaps[t].append(float(np.sqrt(np.mean((2 * np.arccos(dots)) ** 2))))
    mean = lambda g: float(np.mean(g)) if g else float("nan")  # noqa: E731
    return [mean(g) for g in pos_gaps.values()] + [mean(g) for g in ang_gaps.values()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--episodes", type=int, default=50)
    parser.add_argument("--gap-seeds", type=int, default=5)
    parser.add_argument("--ids", nargs="*", default=None)
    args = parser.parse_args()
    rows = []
    with Progress() as progress:
        for env_id in args.ids or available_ids():
            row = [env_id.split("/")[1]]
            for backend in BACKENDS:
                row += [f"{success_rate(env_id, backend, 'expert', args.episodes, progress):.0%}",
                        f"{success_rate(env_id, backend, 'random', args.episodes, progress):.0%}"]
            row += [f"{g:.4f}" for g in trajectory_gap(env_id, range(args.gap_seeds), (1.0, 5.0))]
            rows.append(row)
    header = ["env"] + [f"{b} {p}" for b in BACKENDS for p in ("expert", "random")]
    header += ["pos gap@1s [m]", "pos gap@5s [m]", "angle gap@1s [rad]", "angle gap@5s [rad]"]
    report("parity", header, rows, {"episodes": args.episodes, "gap_seeds": args.gap_seeds})


if __name__ == "__main__":
    main()
