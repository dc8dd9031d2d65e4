"""SimSuite's optional C kernels (``simsuite/_native.c``), or None where they are not built.

``pip install`` compiles them when a C compiler and Python's headers are at hand (the
extension is optional: without them the install goes on without it). Each caller keeps a
numpy path that gives the same numbers (``tests/test_native.py`` checks both), so the
kernels change speed, never results. ``SIMSUITE_NATIVE=0`` in the environment turns them
off, to compare the two paths.
"""

from __future__ import annotations

import math
import os
import warnings
from pathlib import Path
from types import ModuleType
from typing import Sequence

import numpy as np


def _load() -> ModuleType | None:
    if os.environ.get("SIMSUITE_NATIVE", "1") == "0":
        return None
    try:
        from simsuite import _native
    except ImportError:
        return None
    source = Path(__file__).with_name("_native.c")  # present in a source checkout only
    if source.exists() and source.stat().st_mtime > Path(_native.__file__).stat().st_mtime:
        warnings.warn(f"{_native.__file__} is older than {source.name}: rebuild it with `pip install -e .`", stacklevel=2)
    return _native


kernels: ModuleType | None = _load()


# -- per-step kernels and their numpy twins -------------------------------------------------
# Right after an engine step the caches hold the engine's data: a numpy call that costs 1 us
# warm then costs 5-15 us, and a control step makes a dozen of them. The kernels touch a few
# cache lines instead, and are called directly (``native.put`` is the kernel itself where it
# is built): even a Python wrapper's frame is a cache miss there. The kernels take what their
# twins take (numpy converts lists, integers and strided arrays), so callers never need to
# know which one runs.


def _numpy_add_clip(x: np.ndarray, noise: np.ndarray, low: np.ndarray, high: np.ndarray) -> np.ndarray:
    """``add_clip``'s twin. Two ufuncs: np.clip and ndarray.clip go through Python wrappers."""
    out = x + noise
    np.maximum(out, low, out=out)
    return np.minimum(out, high, out=out)


def add_clip(x: np.ndarray, noise: np.ndarray, low: np.ndarray, high: np.ndarray) -> np.ndarray:
    """``min(max(x + noise, low), high)`` as a new array (NaN propagates). The kernel runs when
    the four arrays share x's float dtype (as actions, observations and their spaces' bounds
    do); otherwise numpy, with its casting rules."""
    if kernels is not None:
        try:
            return kernels.add_clip(x, noise, low, high)
        except TypeError:  # dtypes that differ, or a strided array
            pass
    return _numpy_add_clip(x, noise, low, high)


def _numpy_add_clip_row(x: np.ndarray, block: np.ndarray, low: np.ndarray, high: np.ndarray, row: int) -> np.ndarray:
    """:func:`add_clip` of ``block[row]``. Bound as ``add_clip_row``, whose kernel takes the row
    by number (no view made per step) and needs C-contiguous arrays of x's float dtype."""
    return _numpy_add_clip(x, block[row], low, high)


def _float_array(values: object) -> np.ndarray:
    return values if type(values) is np.ndarray and values.dtype.kind == "f" else np.asarray(values, dtype=np.float64)


def _numpy_box_action(action: object, low: np.ndarray, high: np.ndarray) -> np.ndarray | None:
    """An action (an array, or numbers numpy reads) as a new float64 array inside [low, high]
    (float64 bounds of the action's shape), or None if an entry is NaN or inf: the caller
    names the problem. The wrong shape raises ValueError."""
    a = _float_array(action)
    if a.shape != low.shape:
        raise ValueError(f"action must have shape {low.shape}, got {a.shape}")
    # one dot product is finite exactly when every entry is, unless huge entries overflow it
    flat = a.ravel()
    if not math.isfinite(flat @ flat) and not np.isfinite(a).all():
        return None
    return np.minimum(np.maximum(a, low), high)  # np.clip's wrapper costs more


def _numpy_put(dst: np.ndarray, index: np.ndarray, values: object, low: np.ndarray | None, high: np.ndarray | None) -> int:
    """``dst[index] = values`` (dst float64, index intp, values one number per index), clipped
    to [low, high] unless they are None. Returns how many entries changed, or -1 with dst
    untouched if a value is NaN or inf; values of the wrong shape raise ValueError."""
    values = _float_array(values)
    if values.shape != index.shape:
        raise ValueError(f"{len(index)} entries but values of {values.ndim} dimensions and {values.size} items")
    if not math.isfinite(sum(values.tolist())) and not np.isfinite(values).all():  # a sum overflows only for huge finite values
        return -1
    if low is not None:
        values = np.minimum(np.maximum(values, low), high)
    changed = int(np.count_nonzero(dst[index] != values))
    dst[index] = values
    return changed


_WXYZ = [6, 3, 4, 5]  # columns of a (pos, x, y, z, w) row that give (w, x, y, z)


def _numpy_pose_rows(values: list[float]) -> tuple[np.ndarray, np.ndarray]:
    """PyBullet poses, a flat list of 7 floats each (x, y, z, qx, qy, qz, qw), as (n, 3)
    positions and (n, 4) quaternions (w, x, y, z)."""
    flat = np.array(values, dtype=np.float64).reshape(-1, 7)
    return flat[:, :3].copy(), flat[:, _WXYZ]


def _numpy_joint_columns(states: tuple, slots: list[int]) -> tuple[np.ndarray, np.ndarray]:
    """Positions and velocities from PyBullet's ``getJointStates`` answer:
    ``q[k] = states[slots[k]][0]``, ``qd[k] = states[slots[k]][1]``."""
    return np.array([states[k][0] for k in slots], dtype=np.float64), np.array([states[k][1] for k in slots], dtype=np.float64)


def _numpy_take(src: np.ndarray, index: np.ndarray) -> np.ndarray:
    """``src.take(index, axis=0)`` for a C-contiguous float64 src of 1 or 2 dimensions (an
    engine's state arrays) and intp indices."""
    return src.take(index, axis=0)


def _numpy_concat(arrays: Sequence[object]) -> np.ndarray:
    """Every entry of the arrays (or numbers), one after another, as one flat float64 array:
    the usual way to build a state observation from an engine's reads."""
    return np.concatenate(arrays, axis=None, dtype=np.float64)


_TWINS = {"box_action": _numpy_box_action, "put": _numpy_put, "pose_rows": _numpy_pose_rows,
          "joint_columns": _numpy_joint_columns, "take": _numpy_take, "concat": _numpy_concat,
          "add_clip_row": _numpy_add_clip_row}
box_action, put, pose_rows, joint_columns, take, concat, add_clip_row = _TWINS.values()  # bound by use_kernels() below


def use_kernels(on: bool = True) -> bool:
    """Bind ``box_action``, ``put``, ``pose_rows``, ``joint_columns``, ``take``, ``concat`` and
    ``add_clip_row`` to the C kernels (where built and ``on``) or to their numpy twins; returns whether the
    kernels are bound. Tests compare the two paths with it. (The LIDAR and ray kernels are
    taken from ``kernels`` when a sensor or a ray cast is set up.)"""
    chosen = on and kernels is not None
    globals().update({name: getattr(kernels, name) if chosen else twin for name, twin in _TWINS.items()})
    return chosen


use_kernels()
