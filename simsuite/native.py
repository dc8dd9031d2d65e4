"""SimSuite's optional C kernels (``simsuite/_native.c``), or None where they are not built.

``pip install`` compiles them when a C compiler and Python's headers are at hand (the
extension is optional: without them the install goes on without it). Each caller keeps a
numpy path that gives the same numbers (``tests/test_native.py`` checks both), so the
kernels change speed, never results. ``SIMSUITE_NATIVE=0`` in the environment turns them
off, to compare the two paths.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from types import ModuleType


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
