"""Rollouts: one format for real and simulated trajectories (DESIGN.md, "Data that crosses
boundaries").

A rollout is T steps of one episode: time stamps ``t_s`` (T+1), observations ``obs``
(T+1, obs_dim; a Dict observation is stored per key), actions ``actions`` (T, act_dim), and
where known the full simulator ``states`` (T+1, n) and the ``params`` in force. On disk it is
one ``.npz`` holding the arrays plus a ``meta.json`` entry (UTF-8 JSON bytes): no pickles
(``allow_pickle=False`` on load). ROS 2 bags (MCAP) recorded by the bridge read into the same
structure through :func:`load_rollout`.

Loading validates everything a fit relies on and names what is wrong: shapes that disagree,
non-float data, time that does not increase, NaN or inf, a truncated or corrupted file, a
rollout of another env.
"""

from __future__ import annotations

import io
import json
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping

import numpy as np

FORMAT = "simsuite.rollout/1"


class RolloutError(ValueError):
    """A rollout file or array that cannot be used, with the reason."""


@dataclass
class Rollout:
    env_id: str
    t_s: np.ndarray  # (T+1,) [s]
    obs: np.ndarray | dict[str, np.ndarray]  # (T+1, ...) per key
    actions: np.ndarray  # (T, act_dim)
    states: np.ndarray | None = None  # (T+1, n) exact simulator states (sim rollouts)
    params: dict[str, Any] = field(default_factory=dict)
    meta: dict[str, Any] = field(default_factory=dict)  # backend, seed, source ("sim", "proxy:hidden", "ros") ...

    def __post_init__(self) -> None:
        self.t_s = np.asarray(self.t_s, dtype=np.float64)
        self.actions = np.asarray(self.actions, dtype=np.float64)
        if isinstance(self.obs, Mapping):
            self.obs = {k: np.asarray(v) for k, v in self.obs.items()}
        else:
            self.obs = np.asarray(self.obs)
        if self.states is not None:
            self.states = np.asarray(self.states, dtype=np.float64)
        self.validate()

    @property
    def steps(self) -> int:
        return len(self.actions)

    @property
    def duration_s(self) -> float:
        return float(self.t_s[-1] - self.t_s[0])

    def obs_array(self, key: str | None = None) -> np.ndarray:
        """The observation array (one key of a Dict observation)."""
        if isinstance(self.obs, dict):
            if key is None:
                raise RolloutError(f"rollout observations are a dict with keys {sorted(self.obs)}; name one")
            return self.obs[key]
        return self.obs

    def validate(self) -> None:
        if not isinstance(self.env_id, str) or not self.env_id:
            raise RolloutError(f"env_id must be a non-empty string, got {self.env_id!r}")
        t, a = self.t_s, self.actions
        if t.ndim != 1 or len(t) < 2:
            raise RolloutError(f"t_s must be 1-D with at least 2 stamps, got shape {t.shape}")
        if a.ndim != 2 or len(a) != len(t) - 1:
            raise RolloutError(f"actions must have shape (T, act_dim) with T = len(t_s) - 1 = {len(t) - 1}, got {a.shape}")
        _finite("t_s", t)
        if np.any(np.diff(t) <= 0):
            k = int(np.argmax(np.diff(t) <= 0))
            raise RolloutError(f"t_s must increase strictly; t_s[{k + 1}] = {t[k + 1]} follows {t[k]}")
        _finite("actions", a)
        obs = self.obs if isinstance(self.obs, dict) else {"obs": self.obs}
        for key, arr in obs.items():
            if arr.shape[:1] != (len(t),):
                raise RolloutError(f"observations {key!r} must have {len(t)} rows (one per stamp), got shape {arr.shape}")
            if arr.dtype.kind not in "fiub":
                raise RolloutError(f"observations {key!r} must be numeric, got dtype {arr.dtype}")
            if arr.dtype.kind == "f":
                _finite(f"observations {key!r}", arr)
        if self.states is not None:
            if self.states.ndim != 2 or len(self.states) != len(t):
                raise RolloutError(f"states must have shape ({len(t)}, n), got {self.states.shape}")
            _finite("states", self.states)

    # -- files ----------------------------------------------------------------------------
    def save(self, path: str | Path) -> Path:
        path = Path(path)
        if path.suffix != ".npz":
            path = path.with_suffix(".npz")
        arrays: dict[str, np.ndarray] = {"t_s": self.t_s, "actions": self.actions}
        if isinstance(self.obs, dict):
            arrays.update({f"obs.{k}": v for k, v in self.obs.items()})
        else:
            arrays["obs"] = self.obs
        if self.states is not None:
            arrays["states"] = self.states
        meta = {"format": FORMAT, "env_id": self.env_id, "params": _jsonable(self.params), "meta": _jsonable(self.meta)}
        arrays["meta.json"] = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "wb") as f:
            np.savez_compressed(f, **arrays)
        return path


def _finite(what: str, arr: np.ndarray) -> None:
    bad = ~np.isfinite(arr)
    if bad.any():
        idx = tuple(int(i) for i in np.argwhere(bad)[0])
        raise RolloutError(f"{what} contains NaN or inf (first at index {idx})")


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    return value


def load_rollout(path: str | Path, env_id: str | None = None) -> Rollout:
    """Read a rollout (``.npz``, or a ROS 2 bag recorded by the bridge: ``.mcap`` or a bag
    folder); ``env_id`` given: a rollout of another env is an error."""
    path = Path(path)
    if not path.exists():
        raise RolloutError(f"rollout {str(path)!r} does not exist")
    if _is_bag(path):
        from simsuite.ros import read_bag_rollout

        rollout = read_bag_rollout(path, env_id)
    else:
        rollout = _load_npz(path)
    if env_id is not None and rollout.env_id != env_id:
        raise RolloutError(f"{path}: a rollout of {rollout.env_id!r}, expected {env_id!r}")
    return rollout


def _load_npz(path: Path) -> Rollout:
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {k: data[k] for k in data.files}
    except (zipfile.BadZipFile, EOFError, OSError, ValueError) as exc:
        raise RolloutError(f"{path}: not a readable rollout file (truncated or corrupted?): {exc}") from None
    if "meta.json" not in arrays:
        raise RolloutError(f"{path}: no meta.json entry; not a SimSuite rollout")
    try:
        meta = json.loads(arrays.pop("meta.json").tobytes().decode())
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise RolloutError(f"{path}: meta.json is corrupted: {exc}") from None
    if meta.get("format") != FORMAT:
        raise RolloutError(f"{path}: format {meta.get('format')!r}, expected {FORMAT!r}")
    for key in ("t_s", "actions"):
        if key not in arrays:
            raise RolloutError(f"{path}: missing array {key!r}")
    obs: np.ndarray | dict[str, np.ndarray]
    if "obs" in arrays:
        obs = arrays["obs"]
    else:
        obs = {k[4:]: v for k, v in arrays.items() if k.startswith("obs.")}
        if not obs:
            raise RolloutError(f"{path}: missing observations ('obs' or 'obs.<key>' arrays)")
    try:
        return Rollout(meta.get("env_id", ""), arrays["t_s"], obs, arrays["actions"], arrays.get("states"),
                       dict(meta.get("params", {})), dict(meta.get("meta", {})))
    except RolloutError as exc:
        raise RolloutError(f"{path}: {exc}") from None


def load_rollouts(paths: str | Path | Iterable[str | Path], env_id: str | None = None) -> list[Rollout]:
    """Every rollout in a folder (``*.npz``, ``*.mcap``), or the listed files, sorted by name;
    a bag gives one rollout per recorded episode."""
    if isinstance(paths, (str, Path)):
        root = Path(paths)
        if root.is_dir() and not any(root.glob("*.db3")) and not (any(root.glob("*.mcap")) and (root / "metadata.yaml").exists()):
            files = sorted([*root.glob("*.npz"), *root.glob("*.mcap")])
            if not files:
                raise RolloutError(f"{root}: no rollout files (*.npz, *.mcap) in this folder")
        else:
            files = [root]
    else:
        files = [Path(p) for p in paths]
    return [r for f in files for r in (_bag_rollouts(f, env_id) if _is_bag(f) else [load_rollout(f, env_id)])]


def _is_bag(path: Path) -> bool:
    return path.suffix == ".mcap" or (path.is_dir() and any(path.glob("*.mcap")))


def _bag_rollouts(path: Path, env_id: str | None) -> list[Rollout]:
    """Every episode of a bridge or RosEnv bag (a session often records several)."""
    from simsuite.ros import read_bag_rollouts

    if not path.exists():
        raise RolloutError(f"rollout {str(path)!r} does not exist")
    rollouts = read_bag_rollouts(path, env_id)
    if not rollouts:
        raise RolloutError(f"{path}: the bag holds no episode with a step")
    return rollouts
