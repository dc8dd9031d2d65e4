"""NPE calibration check (issue 7): over seeded hidden-parameter PROXY instances of UAV-v0, how
often each parameter's 90 % credible interval holds the hidden truth, and how wide the
posterior is against the prior (near 1: not identified); with ``--sbc N``, also the round-1
estimator's coverage on N held-out simulations from the instance's box (simulation-based
calibration). Results are appended per instance to runs/bench/npe_coverage.jsonl (a cut run
keeps what it finished) and summarized in runs/bench/npe_coverage.json.

    python tools/npe_coverage.py [--instances 20] [--simulations 800] [--transitions 32] [--ensemble 2] [--sbc 100]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import gymnasium
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from benchmark import report  # noqa: E402

import simsuite  # noqa: E402,F401
from simsuite.calibration.cli import DEFAULT_NAMES, OBS_DIMS, SENSOR_NOISE  # noqa: E402
from simsuite.calibration.collect import collect, draw_hidden  # noqa: E402
from simsuite.calibration.excitation import experiment  # noqa: E402
from simsuite.calibration.npe import IDENTIFIED_WIDTH, fit_npe  # noqa: E402

ENV_ID = "SimSuite/UAV-v0"
KINDS = ("hpd", "central")  # the reported interval first


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--instances", type=int, default=20)
    ap.add_argument("--first", type=int, default=0, help="first instance seed (to resume a cut run)")
    ap.add_argument("--simulations", type=int, default=800)
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--transitions", type=int, default=32, help="real transitions in the summaries")
    ap.add_argument("--sbc", type=int, default=0, help="held-out simulations (from the instance's box) per instance for SBC")
    ap.add_argument("--ensemble", type=int, default=2, help="flows per round (a mixture: more conservative)")
    ap.add_argument("--flow", choices=("logit", "box"), default="logit", help="the flow's space (box: sbi's default, for comparison)")
    ap.add_argument("--tag", default="", help="suffix of the log and summary names (keeps trial runs apart)")
    args = ap.parse_args()
    names = DEFAULT_NAMES[ENV_ID]
    env = gymnasium.make(ENV_ID)
    prior = env.unwrapped.param_space
    log = Path(f"runs/bench/npe_coverage{args.tag}.jsonl")
    log.parent.mkdir(parents=True, exist_ok=True)
    samples_dir = Path(f"runs/bench/npe_samples{args.tag}")  # each posterior's samples, for later checks
    samples_dir.mkdir(parents=True, exist_ok=True)
    for seed in range(args.first, args.first + args.instances):
        truth = draw_hidden(prior, names, np.random.default_rng(seed), 0.3, {"actuation.latency_s": (0.0, 0.04)})
        data = collect(env, experiment(1000 + seed), 5, 250, seed=1000 + seed, params={**truth, **SENSOR_NOISE}, noise=0.02)
        t0 = time.perf_counter()

        def progress(k: int) -> None:
            if k % 500 == 0:
                print(f"  instance {seed}: {k}/{args.simulations} simulations, {time.perf_counter() - t0:.0f} s", flush=True)

        post = fit_npe(lambda: gymnasium.make(ENV_ID), data, prior, names, OBS_DIMS[ENV_ID], SENSOR_NOISE,
                       simulations=args.simulations, rounds=args.rounds, k_transitions=args.transitions, seed=seed,
                       sbc=args.sbc, ensemble=args.ensemble, flow_space=args.flow, progress=progress)
        row = {"instance": seed, "truth": truth, "wall_s": post.wall_s, "simulations": post.simulations, "sbc": post.sbc,
               "width": {n: post.width_ratio(n) for n in names}}
        for kind in KINDS:
            row[f"interval_{kind}"] = {n: post.interval(n, 0.9, kind) for n in names}
            row[f"share_{kind}"] = {n: post.interval_share(n, 0.9, kind) for n in names}
            row[f"hit_{kind}"] = {n: bool(row[f"interval_{kind}"][n][0] <= truth[n] <= row[f"interval_{kind}"][n][1]) for n in names}
        np.savez_compressed(samples_dir / f"instance_{seed:03d}.npz", samples=post.samples, names=np.array(names),
                            truth=np.array([truth[n] for n in names]), lows=post.lows, highs=post.highs)
        with log.open("a") as f:
            f.write(json.dumps(row) + "\n")
        print(f"instance {seed}: " + ", ".join(f"{n} {'in' if row['hit_hpd'][n] else 'OUT'} (width {row['width'][n]:.2f})" for n in names)
              + f"  {post.wall_s:.0f} s" + (f"; SBC {post.sbc}" if post.sbc else ""), flush=True)
    summarize(log, names, args.tag)


def summarize(log: Path, names: list[str], tag: str = "") -> None:
    """The table over every instance in the log (latest result per instance): coverage of the
    highest-density and of the central 90 % interval, split by whether the posterior identifies
    the parameter, and how much of the prior the intervals keep (their honesty)."""
    rows = list({r["instance"]: r for r in map(json.loads, log.read_text().splitlines())}.values())

    def hits(n: str, kind: str, subset=None) -> str:
        sel = [r for r in rows if subset is None or (r["width"][n] < IDENTIFIED_WIDTH) == subset]
        return f"{sum(r[f'hit_{kind}'][n] for r in sel)}/{len(sel)}" if sel else "-"

    def share(n: str, subset: bool) -> str:
        sel = [r["share_hpd"][n] for r in rows if (r["width"][n] < IDENTIFIED_WIDTH) == subset]
        return f"{np.median(sel):.2f}" if sel else "-"

    table = [[n, hits(n, "hpd"), hits(n, "central"), hits(n, "hpd", True), hits(n, "hpd", False),
              f"{np.median([r['width'][n] for r in rows]):.2f}", f"{sum(r['width'][n] < IDENTIFIED_WIDTH for r in rows)}/{len(rows)}",
              share(n, True), share(n, False),
              f"{np.mean([r['sbc'][n] for r in rows if r['sbc']]):.2f}" if any(r["sbc"] for r in rows) else "-"] for n in names]
    report(f"npe_coverage{tag}", ["parameter", "HPD 90% covers truth", "central 90% covers", "HPD covers, identified",
                                   "HPD covers, not identified", "posterior/prior std (median)",
                                   f"identified (std ratio < {IDENTIFIED_WIDTH})", "HPD length / prior, identified (median)",
                                   "HPD length / prior, not identified (median)", "SBC coverage of 90% HPD"], table,
           {"instances": len(rows), "wall_s": [r["wall_s"] for r in rows], "rows": rows})


if __name__ == "__main__":
    main()
