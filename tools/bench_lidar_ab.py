"""LIDAR before/after in one process: an older commit's sensor against this tree's, both
against the raw engine call, in interleaved rounds (issue 4).

On a machine shared with other jobs, two benchmark runs minutes apart see different loads,
so their ratios cannot be compared. Here the older commit's ``simsuite`` package is exported
(``git archive``) under the name ``simsuite_before`` and imported beside this tree's, so the
raw call, the old sensor and the new sensor run in the same rounds, in the same process, on
the same scene and rays (tools/bench_lidar.py's scene, presets and mount). Each variant keeps
its best round; with ``--clock cpu`` the rounds are timed in this process's CPU time (all its
threads), which waiting for a core does not inflate. ``engine share`` is the fraction of a
path's CPU time spent inside the engine's ray call (tools/benchmark.py).

Usage: ``python tools/bench_lidar_ab.py [--before REV] [--rounds N] [--clock wall|cpu] [--backend NAME] [--no-labels]``;
writes ``runs/bench/lidar_ab[_cpu].json``.
"""

from __future__ import annotations

import argparse
import importlib
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_lidar import MOUNT, SCANS, bench_scene, engine_ray_call, raw_call  # noqa: E402
from benchmark import engine_share, report  # noqa: E402

from simsuite.backends import make_backend  # noqa: E402
from simsuite.sensors import make_sensor  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
OLD = "simsuite_before"


def import_before(rev: str, into: Path) -> object:
    """The ``simsuite`` package of commit ``rev`` as the module ``simsuite_before`` (its own
    imports renamed; its gymnasium registration left out, so the registry stays this tree's)."""
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", rev, "simsuite"], check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    package = into / OLD
    (into / "simsuite").rename(package)
    for path in package.rglob("*.py"):
        text = re.sub(r"\bsimsuite(?=[.\s])", OLD, path.read_text())
        path.write_text(text)
    (package / "__init__.py").write_text('"""An older SimSuite, for A/B benchmarks."""\n')
    sys.path.insert(0, str(into))
    return importlib.import_module(OLD)


def before_scene():
    """tools/bench_lidar.py's scene, built from the older package's scene classes."""
    scene_mod = importlib.import_module(f"{OLD}.scene")
    transforms = importlib.import_module(f"{OLD}.transforms")
    return bench_scene(scene_mod, transforms.quat_from_axis_angle)


def measure(backend_name: str, scan: str, rounds: int, clock, labels: bool = True) -> list[object]:
    backends_old = importlib.import_module(f"{OLD}.backends")
    sensors_old = importlib.import_module(f"{OLD}.sensors")
    spec = {**SCANS[scan], **MOUNT}
    new_backend, old_backend = make_backend(backend_name), backends_old.make_backend(backend_name)
    new_backend.compile(bench_scene())
    old_backend.compile(before_scene())
    for backend in (new_backend, old_backend):
        backend.step(1)
    new, old = make_sensor(spec), sensors_old.make_sensor(spec)
    new.reset(new_backend, np.random.default_rng(0))
    old.reset(old_backend, np.random.default_rng(0))
    origin, rot = new.sensor_pose(new_backend)
    variants = {
        "raw": raw_call(new_backend, origin, new.directions_sensor @ rot.T, new.config.range_max_m),
        "before": lambda: (old.sample(old_backend, 0.0), old.last_scan.labels),
        "after": lambda: (new.sample(new_backend, 0.0), new.last_scan.labels),
    }
    if not labels:  # the readings alone, the path of issue 4's bar
        variants["before"], variants["after"] = lambda: old.sample(old_backend, 0.0), lambda: new.sample(new_backend, 0.0)
    t0 = time.perf_counter()
    variants["raw"]()
    calls = max(1, int(0.002 / (time.perf_counter() - t0)))  # ~2 ms blocks: some run uninterrupted
    best = {name: np.inf for name in variants}
    for k in range(rounds):
        for name, fn in variants.items():
            start = clock()
            for _ in range(calls):
                fn()
            best[name] = min(best[name], (clock() - start) / calls)
        if (k + 1) % max(1, rounds // 4) == 0:
            print(f"  {backend_name} {scan}: round {k + 1}/{rounds}", file=sys.stderr, flush=True)
    module, names = engine_ray_call(backend_name)
    share_calls = max(5, int(0.5 / best["raw"]))
    shares = {name: engine_share(module, names, variants[name], share_calls) for name in ("before", "after")}
    new_backend.close()
    old_backend.close()
    us = {name: f"{best[name] * 1e6:,.1f}" for name in variants}
    return [backend_name, scan, us["raw"], us["before"], us["after"], f"{best['raw'] / best['before']:.3f}", f"{best['raw'] / best['after']:.3f}",
            f"{shares['before']:.3f}", f"{shares['after']:.3f}"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--before", default="main", help="the older commit (default: main)")
    parser.add_argument("--rounds", type=int, default=60, help="interleaved rounds per scan (default 60)")
    parser.add_argument("--backend", choices=["mujoco", "pybullet"], action="append", help="default: both")
    parser.add_argument("--clock", choices=["wall", "cpu"], default="wall", help="time per wall second (default) or per process CPU second")
    parser.add_argument("--no-labels", action="store_true", help="time Lidar.sample alone, without reading last_scan.labels")
    args = parser.parse_args()
    clock = time.perf_counter if args.clock == "wall" else time.process_time
    load_before = os.getloadavg()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        import_before(args.before, Path(tmp))
        for backend_name in args.backend or ["mujoco", "pybullet"]:
            for scan in SCANS:
                rows.append(measure(backend_name, scan, args.rounds, clock, labels=not args.no_labels))
    before_rev = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", args.before], capture_output=True, text=True).stdout.strip()
    report(
        "lidar_ab" if args.clock == "wall" else "lidar_ab_cpu",
        ["backend", "scan", "raw µs", "before µs", "after µs", "before vs raw", "after vs raw", "engine share before", "engine share after"],
        rows,
        extra={"before": f"{args.before} ({before_rev})", "clock": args.clock, "load_average": [load_before, os.getloadavg()],
               "labels": not args.no_labels,
               "notes": "before/after = Lidar.sample (+ last_scan.labels unless --no-labels) of the older commit / this tree; raw = engine ray call; best of interleaved rounds"},
    )
    print(f"before = {args.before} ({before_rev}); load average before/after: {load_before[0]:.1f} / {os.getloadavg()[0]:.1f} on {os.cpu_count()} cpus")


if __name__ == "__main__":
    main()
