"""Recording bridge and RosEnv sessions to ROS 2 bags (MCAP), and reading them back as rollouts.

A bag written here is an ordinary rosbag2 folder (``metadata.yaml`` + one ``.mcap`` file,
written by rosbags) that ``ros2 bag``, Foxglove or ``mcap-ros2-support`` read. Besides the
ROS topics of the session (sensors, ``/odom``, ``/tf``, the commands received or sent) it
holds three SimSuite topics that make it a rollout:

- ``/simsuite/meta`` (``std_msgs/String``, once): JSON with ``env_id``, ``source`` ("bridge" or
  "rosenv"), the observation layout (``obs_keys``, ``obs_sizes``), ``action_dim``, ``control_dt_s``;
- ``/simsuite/observation`` (``std_msgs/Float64MultiArray``): the env's observation after each
  reset and step, flattened as ``gymnasium.spaces.flatten`` does, its layout naming the keys;
- ``/simsuite/action`` (``std_msgs/Float64MultiArray``): the action the step applied;
- ``/simsuite/state`` (``std_msgs/Float64MultiArray``, bridge sessions only): the full env
  state (``SimEnv.get_state()``: engine, task, action queue) with each observation, for
  calibration methods that reset to it;
- ``/simsuite/events`` (``std_msgs/String``): ``{"event": "reset", "episode": k, "t_s": ...}``
  before each episode's first observation (bridge sessions add the episode's reset ``seed``,
  from which procedural worlds are rebuilt, and the ``params`` in force), and rejected
  messages and timeouts as text.

Log times are strictly increasing within a session (the bridge's ROS time never runs
backwards across resets; a RosEnv uses the wall clock), and each message of a step has its
own nanosecond, so a reader needs only their order. :func:`read_bag_rollout` turns one
episode into a :class:`~simsuite.calibration.rollouts.Rollout`.
"""

from __future__ import annotations

import json
import logging
import threading
from pathlib import Path
from typing import Any

import gymnasium
import numpy as np

from simsuite.ros import messages as M

log = logging.getLogger("simsuite.ros")

META, OBSERVATION, ACTION, EVENTS = "/simsuite/meta", "/simsuite/observation", "/simsuite/action", "/simsuite/events"
STATE = "/simsuite/state"
_NS = 1_000_000_000


class BagError(ValueError):
    """A bag that is not a SimSuite session recording: names what is missing."""


def _obs_layout(space: gymnasium.Space) -> tuple[list[str], list[int], list[list[int]]]:
    """Keys, flat sizes and shapes of the observation's parts (one part, "obs", for a Box)."""
    parts = dict(space.spaces) if isinstance(space, gymnasium.spaces.Dict) else {"obs": space}
    keys = list(parts)
    return keys, [int(gymnasium.spaces.flatdim(parts[k])) for k in keys], [list(parts[k].shape) for k in keys]


def _plain(value: Any) -> Any:
    """numpy values (parameter draws) as JSON numbers and lists."""
    if hasattr(value, "tolist"):
        return value.tolist()
    raise TypeError(f"cannot record {type(value).__name__} in a bag's JSON")


class BagRecorder:
    """Writes one session to a rosbag2 folder with MCAP storage (the folder must not exist)."""

    def __init__(self, path: str | Path, *, env_id: str | None, env: gymnasium.Env, source: str, extra_meta: dict | None = None):
        from rosbags.rosbag2 import StoragePlugin, Writer

        self.path = Path(path)
        if self.path.exists():
            raise FileExistsError(f"record: {self.path} exists; rosbag2 writes a new folder")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._space = env.observation_space
        keys, sizes, shapes = _obs_layout(self._space)
        self._keys, self._sizes = keys, sizes
        self._lock = threading.Lock()  # transports' receive threads write too
        self._writer = Writer(self.path, version=9, storage_plugin=StoragePlugin.MCAP)
        self._writer.open()
        self._connections: dict[tuple[str, str], Any] = {}
        self._last_ns = -1
        self.episode = -1
        unwrapped = env.unwrapped
        task = getattr(unwrapped, "task", None)
        meta = {
            "format": "simsuite-rosbag/1",
            "env_id": env_id,
            "source": "ros",
            "recorded_by": source,
            "obs_keys": keys,
            "obs_sizes": sizes,
            "obs_shapes": shapes,
            "action_dim": int(gymnasium.spaces.flatdim(env.action_space)),
            "control_dt_s": float(getattr(task, "control_dt_s", 0.0) or getattr(unwrapped, "control_dt_s", 0.0)),
            **(extra_meta or {}),
        }
        self.meta = meta
        self._write_msg(META, "std_msgs/msg/String", M.string(json.dumps(meta)), None)

    def _ns(self, t_s: float | None) -> int:
        """Log time: ``t_s`` in ns, pushed forward by 1 ns if needed so that order is kept."""
        ns = self._last_ns + 1 if t_s is None else max(int(round(t_s * _NS)), self._last_ns + 1)
        self._last_ns = ns
        return ns

    def _conn(self, topic: str, msgtype: str):
        key = (topic, msgtype)
        if key not in self._connections:
            self._connections[key] = self._writer.add_connection(topic, msgtype, typestore=M.typestore())
        return self._connections[key]

    def write(self, topic: str, msgtype: str, cdr: bytes, t_s: float | None) -> None:
        """A message already CDR-encoded (as a transport sent or received it); ignored once closed."""
        with self._lock:
            if self._writer is not None:
                self._writer.write(self._conn(topic, msgtype), self._ns(t_s), cdr)

    def _write_msg(self, topic: str, msgtype: str, msg: Any, t_s: float | None) -> None:
        self.write(topic, msgtype, M.serialize(msg, msgtype), t_s)

    def _flat(self, obs: Any) -> np.ndarray:
        return np.asarray(gymnasium.spaces.flatten(self._space, obs), dtype=np.float64)

    def reset(self, obs: Any, t_s: float, state: np.ndarray | None = None, seed: int | None = None,
              params: dict[str, Any] | None = None) -> None:
        """A new episode starts with this observation at ROS time ``t_s``; a simulated one
        also names its reset ``seed`` and the ``params`` in force (what replaying it needs)."""
        self.episode += 1
        event = {"event": "reset", "episode": self.episode, "t_s": t_s}
        if seed is not None:
            event["seed"] = int(seed)
        if params:
            event["params"] = dict(params)
        self._write_msg(EVENTS, "std_msgs/msg/String", M.string(json.dumps(event, default=_plain)), t_s)
        self._write_msg(OBSERVATION, "std_msgs/msg/Float64MultiArray", M.float_array(self._flat(obs), self._keys, self._sizes), t_s)
        self._state(state, t_s)

    def _state(self, state: np.ndarray | None, t_s: float) -> None:
        if state is not None:
            state = np.asarray(state, dtype=np.float64).reshape(-1)
            self._write_msg(STATE, "std_msgs/msg/Float64MultiArray", M.float_array(state, ["state"], [state.size]), t_s)

    def step(self, action: np.ndarray, t_action_s: float, obs: Any, t_obs_s: float, reward: float = 0.0, terminated: bool = False,
             truncated: bool = False, state: np.ndarray | None = None) -> None:
        """The action applied at ``t_action_s`` and the observation (and simulator state) it led to at ``t_obs_s``."""
        action = np.asarray(action, dtype=np.float64).reshape(-1)
        self._write_msg(ACTION, "std_msgs/msg/Float64MultiArray", M.float_array(action, ["action"], [action.size]), t_action_s)
        self._write_msg(OBSERVATION, "std_msgs/msg/Float64MultiArray", M.float_array(self._flat(obs), self._keys, self._sizes), t_obs_s)
        self._state(state, t_obs_s)
        if terminated or truncated:
            event = {"event": "terminated" if terminated else "truncated", "episode": self.episode, "reward": float(reward)}
            self._write_msg(EVENTS, "std_msgs/msg/String", M.string(json.dumps(event)), None)

    def note(self, text: str, t_s: float | None = None) -> None:
        self._write_msg(EVENTS, "std_msgs/msg/String", M.string(json.dumps({"event": "note", "text": text})), t_s)

    def close(self, summary: dict | None = None) -> None:
        if self._writer is None:
            return
        if summary:
            self._write_msg(EVENTS, "std_msgs/msg/String", M.string(json.dumps({"event": "summary", **summary})), None)
        with self._lock:
            writer, self._writer = self._writer, None
            writer.close()


# ---------------------------------------------------------------------------
# Reading


def _bag_folder(path: Path) -> Path:
    """rosbags opens the folder; a path to the .mcap inside it is accepted too."""
    path = Path(path)
    if path.is_file() and path.suffix == ".mcap":
        return path.parent
    if path.is_dir():
        return path
    raise BagError(f"{path}: not a rosbag2 folder or .mcap file")


def read_bag_episodes(path: str | Path) -> tuple[dict, list[dict]]:
    """The session's metadata and its episodes, each a dict of ``t_s`` (T+1), ``obs`` (T+1, n),
    ``actions`` (T, m) and ``states`` ((T+1, k) or None when not recorded). A trailing action without its observation (a session stopped
    mid-step) is dropped."""
    from rosbags.rosbag2 import Reader

    store = M.typestore()
    meta: dict | None = None
    episodes: list[dict] = []
    with Reader(_bag_folder(Path(path))) as reader:
        wanted = [c for c in reader.connections if c.topic in (META, OBSERVATION, ACTION, EVENTS, STATE)]
        if not any(c.topic == OBSERVATION for c in wanted):
            raise BagError(f"{path}: no {OBSERVATION} topic; record the session with SimSuite's bridge or RosEnv")
        current: dict | None = None
        for conn, ns, raw in reader.messages(connections=wanted):
            msg = store.deserialize_cdr(raw, conn.msgtype)
            if conn.topic == META:
                meta = json.loads(msg.data)
            elif conn.topic == EVENTS:
                event = json.loads(msg.data)
                if event.get("event") == "reset":
                    current = {"t_s": [], "obs": [], "actions": [], "states": [], "seed": event.get("seed"),
                               "params": event.get("params", {})}
                    episodes.append(current)
            elif current is None:
                raise BagError(f"{path}: {conn.topic} before the first reset event")
            elif conn.topic == STATE:
                current["states"].append(np.asarray(msg.data, dtype=np.float64))
            elif conn.topic == OBSERVATION:
                if len(current["obs"]) != len(current["actions"]):
                    raise BagError(f"{path}: two observations without an action between them at {ns} ns")
                current["obs"].append(np.asarray(msg.data, dtype=np.float64))
                current["t_s"].append(ns / _NS)
            else:  # ACTION
                if len(current["actions"]) != len(current["obs"]) - 1:
                    raise BagError(f"{path}: two actions without an observation between them at {ns} ns")
                current["actions"].append(np.asarray(msg.data, dtype=np.float64))
    if meta is None:
        raise BagError(f"{path}: no {META} message")
    out = []
    for ep in episodes:
        n_obs = len(ep["obs"])
        if n_obs == 0:
            continue
        actions = ep["actions"][: n_obs - 1]
        t = np.asarray(ep["t_s"])
        states = np.stack(ep["states"][:n_obs]) if len(ep["states"]) >= n_obs else None
        out.append({
            "seed": ep["seed"],
            "params": ep["params"],
            "states": states,
            "t_s": np.round(t - t[0], 6),  # log times are nudged by nanoseconds to keep their order
            "obs": np.stack(ep["obs"]),
            "actions": np.stack(actions) if actions else np.zeros((0, meta["action_dim"])),
        })
    return meta, out


def read_bag_rollout(path: str | Path, env_id: str | None = None, episode: int = 0):
    """One episode of a recorded bridge or RosEnv session as a
    :class:`~simsuite.calibration.rollouts.Rollout` (observations and actions per step, times
    from the episode's start). ``env_id``, when given, must match the recording's."""
    meta, episodes = _bag_for(path, env_id)
    if not -len(episodes) <= episode < len(episodes):
        raise BagError(f"{path}: episode {episode} does not exist; the bag has {len(episodes)}")
    return _episode_rollout(path, env_id, meta, episodes, episode % len(episodes))


def read_bag_rollouts(path: str | Path, env_id: str | None = None) -> list:
    """Every episode of a recorded session that has at least one step, as rollouts."""
    meta, episodes = _bag_for(path, env_id)
    return [_episode_rollout(path, env_id, meta, episodes, k) for k, ep in enumerate(episodes) if len(ep["actions"])]


def _bag_for(path: str | Path, env_id: str | None) -> tuple[dict, list[dict]]:
    meta, episodes = read_bag_episodes(path)
    if env_id is not None and meta.get("env_id") not in (None, env_id):
        raise BagError(f"{path}: recorded from {meta.get('env_id')!r}, not {env_id!r}")
    return meta, episodes


def _episode_rollout(path: str | Path, env_id: str | None, meta: dict, episodes: list[dict], episode: int):
    from simsuite.calibration.rollouts import Rollout

    ep = episodes[episode]
    rollout_meta = {**meta, "episode": episode, "bag": str(path), "n_episodes": len(episodes)}
    if ep["seed"] is not None:
        rollout_meta["seed"] = ep["seed"]  # the episode's reset seed: calibration rebuilds its world from it
    return Rollout(env_id=env_id or meta.get("env_id") or "", t_s=ep["t_s"], obs=split_obs(meta, ep["obs"]),
                   actions=ep["actions"], states=ep["states"], params=dict(ep["params"]), meta=rollout_meta)


def split_obs(meta: dict, flat: np.ndarray) -> np.ndarray | dict[str, np.ndarray]:
    """Flat recorded observations (T+1, n) back into the env's parts: an array for a Box
    observation, a dict keyed by modality (each (T+1, *shape)) for a Dict one."""
    keys, sizes = meta["obs_keys"], meta["obs_sizes"]
    shapes = meta.get("obs_shapes") or [[n] for n in sizes]
    if flat.shape[1] != sum(sizes):
        raise BagError(f"observations have {flat.shape[1]} entries, the layout says {sum(sizes)}")
    if keys == ["obs"]:
        return flat.reshape(len(flat), *shapes[0])
    out, start = {}, 0
    for key, size, shape in zip(keys, sizes, shapes):
        out[key] = flat[:, start:start + size].reshape(len(flat), *shape)
        start += size
    return out
