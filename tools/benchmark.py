"""Shared helpers for the benchmarks: timing, machine facts, table and JSON output."""

from __future__ import annotations

import json
import os
import platform
import time
from pathlib import Path
from typing import Callable

import numpy as np


def rate(fn: Callable[[], None], n: int, repeats: int = 3) -> float:
    """Best calls per second of ``fn`` over ``repeats`` runs of ``n`` calls (best damps noise)."""
    best = 0.0
    for _ in range(repeats):
        t0 = time.perf_counter()
        for _ in range(n):
            fn()
        best = max(best, n / (time.perf_counter() - t0))
    return best


def cpu_rate(fn: Callable[[], None], n: int, repeats: int = 3) -> float:
    """Like :func:`rate`, per second of this process's CPU time (all its threads): steadier
    than wall-clock on a shared machine, and it charges multi-threaded engines (PyBullet's
    ray threads, llvmpipe) for every core they use."""
    best = 0.0
    for _ in range(repeats):
        t0 = time.process_time()
        for _ in range(n):
            fn()
        best = max(best, n / max(time.process_time() - t0, 1e-9))
    return best


def engine_share(module: object, names: tuple[str, ...], fn: Callable[[], None], calls: int) -> float:
    """Fraction of ``fn``'s CPU time spent inside the engine functions ``module.<names>``,
    measured in the same calls (each wrapped with a CPU-clock accumulator while this runs).
    Unlike a ratio of two rates measured at different moments, it does not swing with the
    load of a shared machine; the wrappers' own clock reads count against ``fn``."""
    originals = {name: getattr(module, name) for name in names}
    spent = [0.0]

    def timed(engine):
        def call(*args, **kwargs):
            t0 = time.process_time()
            try:
                return engine(*args, **kwargs)
            finally:
                spent[0] += time.process_time() - t0

        return call

    for name, engine in originals.items():
        setattr(module, name, timed(engine))
    try:
        t0 = time.process_time()
        for _ in range(calls):
            fn()
        total = time.process_time() - t0
    finally:
        for name, engine in originals.items():
            setattr(module, name, engine)
    return spent[0] / total


def paired_ratio(ratios: list[float], digits: int = 3) -> tuple[str, str]:
    """The median of per-round ratios (each of two runs side by side) and their interquartile
    range, as table cells. On a machine whose speed drifts, runs side by side see the same
    conditions where the best runs of two loops need not."""
    q1, median, q3 = (float(np.percentile(ratios, q)) for q in (25, 50, 75))
    return f"{median:.{digits}f}", f"{q1:.2f}-{q3:.2f}"


def machine() -> dict[str, object]:
    import mujoco
    import numpy
    import pybullet

    return {
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "numpy": numpy.__version__,
        "mujoco": mujoco.__version__,
        "pybullet_api": pybullet.getAPIVersion(),
    }


def report(name: str, header: list[str], rows: list[list[object]], extra: dict | None = None) -> Path:
    """Print a table and write ``runs/bench/<name>.json`` with the machine facts."""
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows)]
    line = "  ".join(f"{{:>{w}}}" for w in widths)
    print(line.format(*header))
    for row in rows:
        print(line.format(*row))
    out = Path("runs/bench") / f"{name}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    payload = {"machine": machine(), "header": header, "rows": rows, **(extra or {})}
    out.write_text(json.dumps(payload, indent=2, default=str))
    print(f"wrote {out}")
    return out
