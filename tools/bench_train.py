"""Training throughput (env steps/s) with 1 and 2 worker processes and with many envs per
process, against the single env stepped in a loop, all in the same run.

For each env id (with its family config's options, e.g. UAV-v0 hover with ``action="ctbr"``):

- ``env loop``: one env, random actions, resets included: the baseline;
- ``vec``: a vec env stepped with random actions (collection alone): one env per worker process
  (SubprocVecEnv) for 1 and 2 workers; ``--envs`` envs in this process (DummyVecEnv,
  ``vec_env: dummy``); ``--envs`` envs split over 2 workers (GroupedSubprocVecEnv, ``workers: 2``);
- ``PPO``: ``model.learn`` (collection plus gradient updates) with the family's PPO settings in
  the same layouts; ``n_steps`` per env is set so that every layout collects as many steps per
  update as the family config does (4,096 for UAV-v0), so the gradient work per step is equal.

Wall-clock rates: on a shared machine other processes take cores too, so compare rows of one run.

    python tools/bench_train.py [--steps 8192] [--ids SimSuite/UAV-v0 SimSuite/Nav-v0] [--workers 1 2] [--envs 32]
"""

from __future__ import annotations

import argparse
import functools
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from benchmark import report  # noqa: E402

from simsuite.agents.train import make_vec_env, load_config, make_env, train  # noqa: E402

#: a layout: (label, envs or None for --envs, worker processes or None for "in this process")
Layout = tuple[str, int | None, int | None]


def layouts(workers: list[int]) -> list[Layout]:
    out: list[Layout] = [(f"{w} envs, one per worker process" if w > 1 else "1 env in this process", w, w) for w in workers]
    return out + [("{n} envs in this process", None, None), ("{n} envs in 2 worker processes", None, 2)]


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


def vec_rate(env_id: str, cfg: dict, steps: int, n_envs: int, workers: int | None) -> float:
    fn = functools.partial(make_env, env_id, cfg["env_kwargs"], False, lidar_sectors=cfg.get("lidar_sectors"))
    venv = make_vec_env(fn, n_envs, "dummy" if workers is None else "subproc", workers)
    venv.seed(0)
    venv.reset()
    rng = np.random.default_rng(0)
    space = venv.action_space
    actions = rng.uniform(space.low, space.high, (256, n_envs) + space.shape).astype(space.dtype)
    n = max(1, steps // n_envs)
    t0 = time.perf_counter()
    for i in range(n):
        venv.step(actions[i % 256])  # auto-resets finished envs
    rate = n * n_envs / (time.perf_counter() - t0)
    venv.close()
    return rate


def learn_rate(env_id: str, cfg: dict, steps: int, n_envs: int, workers: int | None, out: Path) -> float:
    ppo = dict(cfg, algo="PPO", checkpoint_every=None)
    if cfg["algo"] != "PPO":  # the family trains with SAC: bench PPO with the default config's settings
        ppo.update({k: v for k, v in load_config("default").items() if k in ("algo_kwargs", "policy_kwargs", "n_envs")})
    kwargs = ppo["algo_kwargs"] = dict(ppo["algo_kwargs"])
    per_update = int(kwargs.get("n_steps", 2048)) * int(ppo.get("n_envs", 1))  # the family config's
    kwargs["n_steps"] = max(16, per_update // n_envs)
    kwargs["batch_size"] = min(int(kwargs.get("batch_size", 64)), kwargs["n_steps"] * n_envs)
    ppo.update(vec_env="dummy" if workers is None else "subproc", workers=workers)
    run = train(env_id, ppo, timesteps=max(steps, per_update), n_envs=n_envs, out_dir=out, progress=False)
    return float(json.loads((run / "run.json").read_text())["steps_per_s"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=8192, help="env steps per measurement")
    parser.add_argument("--ids", nargs="+", default=["SimSuite/UAV-v0", "SimSuite/Nav-v0"])
    parser.add_argument("--workers", nargs="+", type=int, default=[1, 2], help="one env per worker process, for these counts")
    parser.add_argument("--envs", type=int, default=32, help="envs in the many-envs layouts")
    args = parser.parse_args()
    rows = []
    for env_id in args.ids:
        cfg = load_config(None, env_id)
        base = env_loop_rate(env_id, cfg, args.steps)
        print(f"{env_id}: env loop {base:,.0f} steps/s", flush=True)
        rows.append([env_id, "env loop (baseline)", "1 env", f"{base:,.0f}", "1.00"])
        for what, rate_of in (("vec env, random actions", vec_rate), ("PPO learn (collect + update)", learn_rate)):
            for label, envs, workers in layouts(args.workers):
                n = envs or args.envs
                extra = (Path("runs/bench/train_tmp") / f"{env_id.split('/')[-1]}_{n}_{workers}",) if rate_of is learn_rate else ()
                r = rate_of(env_id, cfg, args.steps, n, workers, *extra)
                print(f"{env_id}: {what}, {label.format(n=n)}: {r:,.0f} steps/s", flush=True)
                rows.append([env_id, what, label.format(n=n), f"{r:,.0f}", f"{r / base:.2f}"])
    report("train", ["env", "what", "layout", "steps/s", "vs env loop"], rows, {"steps": args.steps, "envs": args.envs})


if __name__ == "__main__":
    main()
