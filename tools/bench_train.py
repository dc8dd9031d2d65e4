"""Training throughput (env steps/s) with 1 and 2 worker processes, against the single env
stepped in a loop, all in the same run.

For each env id (with its family config's options, e.g. UAV-v0 hover with ``action="ctbr"``):

- ``env loop``: one env, random actions, resets included: the baseline;
- ``vec N``: the vec env that training uses (DummyVecEnv for 1, SubprocVecEnv for N > 1)
  stepped with random actions: collection alone; and 2 envs in this process (DummyVecEnv,
  ``vec_env: dummy`` in a config), which wins when a step costs less than a pipe round trip;
- ``PPO N``: ``model.learn`` with the family's PPO config: collection plus gradient updates.

Wall-clock rates: on a shared machine other processes take cores too, so compare rows of one run.

    python tools/bench_train.py [--steps 8192] [--ids SimSuite/UAV-v0 SimSuite/Nav-v0] [--workers 1 2]
"""

from __future__ import annotations

import argparse
import functools
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from benchmark import report  # noqa: E402

from simsuite.agents.train import make_vec_env, load_config, make_env, train  # noqa: E402


def env_loop_rate(env_id: str, cfg: dict, steps: int) -> float:
    env = make_env(env_id, cfg["env_kwargs"], lidar_sectors=cfg.get("lidar_sectors"))
    env.reset(seed=0)
    env.action_space.seed(0)
    actions = [env.action_space.sample() for _ in range(256)]
    t0 = time.perf_counter()
    for i in range(steps):
        _, _, terminated, truncated, _ = env.step(actions[i % 256])
        if terminated or truncated:
            env.reset()
    rate = steps / (time.perf_counter() - t0)
    env.close()
    return rate


def vec_rate(env_id: str, cfg: dict, steps: int, workers: int, kind: str = "subproc") -> float:
    fn = functools.partial(make_env, env_id, cfg["env_kwargs"], False, lidar_sectors=cfg.get("lidar_sectors"))
    venv = make_vec_env(fn, workers, kind)
    venv.seed(0)
    venv.reset()
    rng = np.random.default_rng(0)
    space = venv.action_space
    actions = rng.uniform(space.low, space.high, (256, workers) + space.shape).astype(space.dtype)
    n = max(1, steps // workers)
    t0 = time.perf_counter()
    for i in range(n):
        venv.step(actions[i % 256])  # auto-resets finished envs
    rate = n * workers / (time.perf_counter() - t0)
    venv.close()
    return rate


def learn_rate(env_id: str, cfg: dict, steps: int, workers: int, out: Path) -> float:
    ppo = dict(cfg, algo="PPO", checkpoint_every=None)
    if cfg["algo"] != "PPO":  # the family trains with SAC: bench PPO with the default config's settings
        ppo.update({k: v for k, v in load_config("default").items() if k in ("algo_kwargs", "policy_kwargs")})
    run = train(env_id, ppo, timesteps=steps, n_envs=workers, out_dir=out, progress=False)
    import json

    meta = json.loads((run / "run.json").read_text())
    return float(meta["steps_per_s"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=8192, help="env steps per measurement")
    parser.add_argument("--ids", nargs="+", default=["SimSuite/UAV-v0", "SimSuite/Nav-v0"])
    parser.add_argument("--workers", nargs="+", type=int, default=[1, 2])
    args = parser.parse_args()
    rows = []
    for env_id in args.ids:
        cfg = load_config(None, env_id)
        base = env_loop_rate(env_id, cfg, args.steps)
        rows.append([env_id, "env loop (baseline)", 1, f"{base:,.0f}", "1.00"])
        for w in args.workers:
            r = vec_rate(env_id, cfg, args.steps, w)
            rows.append([env_id, "vec env, random actions", w, f"{r:,.0f}", f"{r / base:.2f}"])
        r = vec_rate(env_id, cfg, args.steps, 2, "dummy")
        rows.append([env_id, "2 envs in one process (dummy)", "in-proc", f"{r:,.0f}", f"{r / base:.2f}"])
        for w in args.workers:
            r = learn_rate(env_id, cfg, args.steps, w, Path("runs/bench/train_tmp") / f"{env_id.split('/')[-1]}_{w}")
            rows.append([env_id, "PPO learn (collect + update)", w, f"{r:,.0f}", f"{r / base:.2f}"])
    report("train", ["env", "what", "workers", "steps/s", "vs env loop"], rows, {"steps": args.steps})


if __name__ == "__main__":
    main()
