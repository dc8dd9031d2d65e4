"""The PPO transfer table of issue #9: success on the PROXY reality, mean ± std over proxy seeds,
for PPO policies trained on the calibrated distribution, on nominal parameters and on wide
uniform randomization.

Each proxy seed is the one `simsuite demo` uses (same hidden parameters, same rollouts, same
CMA-ES calibration, same PPO seed, same evaluation episodes): the inputs of the PPO rows of
`simsuite demo --ppo-timesteps N` (not compared cell by cell). The demo also tunes a controller
per distribution before it trains; this script skips that and runs the 3 × 3 trainings as
parallel processes (``--jobs``).
A calibrated ``fitted.yaml`` already in ``--out`` (e.g. from the demo) is reused.

    python tools/ppo_transfer.py [--seeds 0 1 2] [--timesteps 400000] [--jobs 9] [--out runs/ppo_transfer]

Writes ``report.md`` (the table, the hidden parameters, per-run training figures) and
``transfer.json``; prints each run's steps and training success every minute (a run's own
output goes to ``--out/logs``).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from simsuite.agents.demo import (ENV_ID, NAMES, SETTINGS, fit_proxy, nominal_values, ppo_on_proxy, proxy_reality, proxy_rollouts,
                                  relative_value)

DISTRIBUTIONS = ("calibrated", "nominal", "wide uniform")


def prior_space():
    import gymnasium

    import simsuite  # noqa: F401

    env = gymnasium.make(ENV_ID)
    prior = env.unwrapped.param_space
    env.close()
    return prior


def calibrate(out: Path, seed: int) -> Path:
    """The demo's first calibration iteration on proxy ``seed``: expert rollouts on the proxy,
    CMA-ES (DROPO) fit; the fitted distribution as ``fitted.yaml`` (reused when present)."""
    path = out / "fitted.yaml"
    if path.is_file():
        return path
    import gymnasium

    from simsuite.agents.experts import make_expert

    cfg = SETTINGS["default"]
    env = gymnasium.make(ENV_ID)
    prior = env.unwrapped.param_space
    _, reality = proxy_reality(prior, seed)
    fit = fit_proxy(proxy_rollouts(env, make_expert, cfg, reality, seed), prior, cfg, seed)
    env.close()
    out.mkdir(parents=True, exist_ok=True)
    return fit.space().save(path, meta={"env_id": ENV_ID, "source": "tools/ppo_transfer.py calibration against a PROXY reality"})


def job(out: Path, seed: int, label: str, timesteps: int) -> None:
    """One row cell: (calibrate,) train, evaluate on the proxy; writes ``result.json``."""
    from simsuite.randomization import ParamSpace

    folder = out / f"proxy_{seed}"
    t0 = time.perf_counter()
    prior = prior_space()
    truth, reality = proxy_reality(prior, seed)
    space = {"nominal": None, "wide uniform": prior.subset(NAMES)}.get(label)
    if label == "calibrated":
        space = ParamSpace.load(calibrate(folder, seed)).subset(NAMES)
    run = folder / "ppo" / label.replace(" ", "_")
    row = ppo_on_proxy(run, space, reality, timesteps, seed, SETTINGS["default"]["episodes"], progress=False)
    meta = json.loads((run / "run.json").read_text())
    row.update(seed=seed, label=label, truth=truth, train_wall_s=meta["wall_s"], steps_per_s=meta["steps_per_s"],
               num_timesteps=meta["num_timesteps"], job_wall_s=time.perf_counter() - t0)
    (run / "result.json").write_text(json.dumps(row, indent=2))


def _run_job(out: Path, seed: int, label: str, timesteps: int) -> None:
    """A job with its output in its own log (parallel progress lines would interleave)."""
    log = out / "logs" / f"proxy_{seed}_{label.replace(' ', '_')}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "w") as stream:
        sys.stdout = sys.stderr = stream
        job(out, seed, label, timesteps)


def run_all(out: Path, seeds: list[int], timesteps: int, jobs: int) -> list[dict[str, Any]]:
    """Every (seed, distribution) pair, ``jobs`` processes at a time, with a line as each ends."""
    ctx = mp.get_context("forkserver")  # clean processes; calibration's own pool forks from them
    pending = [(s, label) for s in seeds for label in DISTRIBUTIONS]
    running: list[tuple[tuple[int, str], Any]] = []
    t0 = shown = time.perf_counter()
    done = 0
    while pending or running:
        while pending and len(running) < jobs:
            key = pending.pop(0)
            proc = ctx.Process(target=_run_job, args=(out, *key, timesteps))
            proc.start()
            running.append((key, proc))
        time.sleep(2.0)
        if time.perf_counter() - shown > 60.0:
            shown = time.perf_counter()
            print(f"{shown - t0:5.0f} s  " + "; ".join(_progress(out, *key, timesteps) for key, _ in running), flush=True)
        for item in [r for r in running if not r[1].is_alive()]:
            running.remove(item)
            (seed, label), proc = item
            if proc.exitcode != 0:
                raise RuntimeError(f"proxy {seed}, {label} failed (exit code {proc.exitcode}); see {out}/logs")
            done += 1
            print(f"[{done}/{len(seeds) * len(DISTRIBUTIONS)}] proxy {seed}, PPO on {label}: done at "
                  f"{time.perf_counter() - t0:.0f} s", flush=True)
    return [json.loads((out / f"proxy_{s}" / "ppo" / label.replace(" ", "_") / "result.json").read_text())
            for s in seeds for label in DISTRIBUTIONS]


def _progress(out: Path, seed: int, label: str, timesteps: int) -> str:
    """``proxy 0 nominal 120k/400k (succ 35%)`` from the run's SB3 log, or its phase."""
    log = out / f"proxy_{seed}" / "ppo" / label.replace(" ", "_") / "logs" / "progress.csv"
    lines = log.read_text().splitlines() if log.is_file() else []
    if len(lines) < 2:
        return f"proxy {seed} {label}: {'calibrating' if label == 'calibrated' else 'starting'}"
    last = dict(zip(lines[0].split(","), lines[-1].split(",")))
    steps, success = float(last.get("time/total_timesteps") or 0), last.get("rollout/success_rate") or "nan"
    return f"proxy {seed} {label}: {steps / 1e3:.0f}k/{timesteps / 1e3:.0f}k (train success {float(success):.0%})"


def report(out: Path, rows: list[dict[str, Any]], timesteps: int, wall_s: float) -> str:
    seeds = sorted({r["seed"] for r in rows})
    cell = {(r["seed"], r["label"]): r for r in rows}
    lines = ["# PPO transfer to the PROXY realities (UAV-v0 hover)", "",
             f"Stable-Baselines3 PPO (`agents/configs/uav.yaml`), {timesteps:,} env steps per policy, trained with seed = "
             f"proxy seed on each distribution; success on that proxy over {rows[0]['episodes']} episodes (the demo's "
             "evaluation seeds), deterministic policy. Not a real robot: a proxy.", "",
             "| trained on | success on the proxy, mean ± std over seeds | per proxy seed (" + ", ".join(map(str, seeds)) + ") |",
             "|---|---|---|"]
    for label in DISTRIBUTIONS:
        values = [cell[s, label]["success"] for s in seeds]
        lines.append(f"| {label} | {np.mean(values):.0%} ± {np.std(values):.0%} | " + ", ".join(f"{v:.0%}" for v in values) + " |")
    nominal = nominal_values()
    lines += ["", "Hidden parameters of each proxy (relative to nominal; latency in ms):", "",
              "| proxy seed | " + " | ".join(NAMES) + " |", "|---|" + "---|" * len(NAMES)]
    lines += [f"| {s} | " + " | ".join(relative_value(n, cell[s, 'nominal']['truth'][n], nominal[n]) for n in NAMES) + " |"
              for s in seeds]
    lines += ["", "| proxy seed | trained on | success [95% CI] | mean return | env steps | training | steps/s |",
              "|---|---|---|---|---|---|---|"]
    for s in seeds:
        for label in DISTRIBUTIONS:
            r = cell[s, label]
            lines.append(f"| {s} | {label} | {r['success']:.0%} [{r['ci95'][0]:.0%}, {r['ci95'][1]:.0%}] | {r['return_mean']:.0f} | "
                         f"{r['num_timesteps']:,} | {r['train_wall_s'] / 60:.1f} min | {r['steps_per_s']:,.0f} |")
    lines += ["", f"Wall-clock: {wall_s / 60:.1f} min for all runs (parallel processes on a shared machine)."]
    text = "\n".join(lines) + "\n"
    (out / "report.md").write_text(text)
    (out / "transfer.json").write_text(json.dumps({"timesteps": timesteps, "wall_s": wall_s, "rows": rows}, indent=2))
    return text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2], help="proxy realities (the demo's seeds)")
    parser.add_argument("--timesteps", type=float, default=400_000, help="env steps per PPO policy")
    parser.add_argument("--jobs", type=int, default=9, help="trainings at once, each in its own process")
    parser.add_argument("--out", type=Path, default=Path("runs/ppo_transfer"))
    args = parser.parse_args()
    if args.jobs < 1:
        parser.error("--jobs must be at least 1")
    args.out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    rows = run_all(args.out, args.seeds, int(args.timesteps), args.jobs)
    print(report(args.out, rows, int(args.timesteps), time.perf_counter() - t0))
    print(f"wrote {args.out / 'report.md'}")


if __name__ == "__main__":
    main()
