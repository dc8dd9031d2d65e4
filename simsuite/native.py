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


# -- per-step kernels with their numpy twins -------------------------------------------------
# Right after an engine step the caches hold the engine's data: a numpy call that costs 1 us
# warm then costs 5-15 us, and a control step makes a dozen of them. The kernels touch a few
# cache lines instead. Each falls back to its twin for arrays the kernel does not take
# (another dtype, strided), so callers never need to know which one ran.


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


def _numpy_box_action(action: np.ndarray, low: np.ndarray, high: np.ndarray) -> np.ndarray | None:
    # one dot product is finite exactly when every entry is, unless huge entries overflow it
    flat = action.ravel()
    if not math.isfinite(flat @ flat) and not np.isfinite(action).all():
        return None
    return np.minimum(np.maximum(action, low), high)  # np.clip's wrapper costs more


def box_action(action: np.ndarray, low: np.ndarray, high: np.ndarray) -> np.ndarray | None:
    """A float action as a new float64 array inside [low, high] (float64 bounds of its shape),
    or None if an entry is NaN or inf: the caller names the problem."""
    if kernels is not None:
        try:
            return kernels.box_action(action, low, high)
        except TypeError:  # float16, a strided view
            pass
    return _numpy_box_action(action, low, high)


def _numpy_put(dst: np.ndarray, index: np.ndarray, values: np.ndarray, low: np.ndarray | None, high: np.ndarray | None) -> int:
    if values.shape != index.shape:
        raise ValueError(f"{len(index)} entries but values of {values.ndim} dimensions and {values.size} items")
    if not math.isfinite(sum(values.tolist())) and not np.isfinite(values).all():  # a sum overflows only for huge finite values
        return -1
    if low is not None:
        values = np.minimum(np.maximum(values, low), high)
    changed = int(np.count_nonzero(dst[index] != values))
    dst[index] = values
    return changed


def put(dst: np.ndarray, index: np.ndarray, values: np.ndarray, low: np.ndarray | None = None, high: np.ndarray | None = None) -> int:
    """``dst[index] = values`` (dst float64, index intp, values 1-D), clipped to [low, high]
    unless they are None. Returns how many entries changed, or -1 with dst untouched if a
    value is NaN or inf; values of the wrong shape raise ValueError."""
    if kernels is not None:
        try:
            return kernels.put(dst, index, values, low, high)
        except TypeError:  # values of another dtype, or strided
            pass
    return _numpy_put(dst, index, values, low, high)


_WXYZ = [6, 3, 4, 5]  # columns of a (pos, x, y, z, w) row that give (w, x, y, z)


def pose_rows(values: list[float]) -> tuple[np.ndarray, np.ndarray]:
    """PyBullet poses, a flat list of 7 floats each (x, y, z, qx, qy, qz, qw), as (n, 3)
    positions and (n, 4) quaternions (w, x, y, z)."""
    if kernels is not None:
        return kernels.pose_rows(values)
    return _numpy_pose_rows(values)


def _numpy_pose_rows(values: list[float]) -> tuple[np.ndarray, np.ndarray]:
    flat = np.array(values, dtype=np.float64).reshape(-1, 7)
    return flat[:, :3].copy(), flat[:, _WXYZ]


def joint_columns(states: tuple, slots: list[int]) -> tuple[np.ndarray, np.ndarray]:
    """Positions and velocities from PyBullet's ``getJointStates`` answer:
    ``q[k] = states[slots[k]][0]``, ``qd[k] = states[slots[k]][1]``."""
    if kernels is not None:
        return kernels.joint_columns(states, slots)
    return _numpy_joint_columns(states, slots)


def _numpy_joint_columns(states: tuple, slots: list[int]) -> tuple[np.ndarray, np.ndarray]:
    return np.array([states[k][0] for k in slots], dtype=np.float64), np.array([states[k][1] for k in slots], dtype=np.float64)


def take(src: np.ndarray, index: np.ndarray) -> np.ndarray:
    """``src.take(index, axis=0)`` for a C-contiguous float64 src of 1 or 2 dimensions (an
    engine's state arrays) and intp indices."""
    if kernels is not None:
        return kernels.take(src, index)
    return src.take(index, axis=0)
