"""SimBridge: the simulator as a ROS robot (hardware-in-the-loop).

Every control step the bridge publishes, stamped with simulation time (the message
``header.stamp`` and ``/clock`` both read ``backend.time_s``), in this order:

1. ``/clock`` (``rosgraph_msgs/Clock``): nodes with ``use_sim_time`` follow it;
2. each sensor reading that is new since the last step: ``/scan`` (``LaserScan``, 2D LIDAR),
   ``/points`` (``PointCloud2``, multi-channel LIDAR), ``/imu`` (``Imu``: every sample the
   IMU took since the last step, each stamped with its sample time, so at the IMU's own rate,
   capped by the physics rate; the last one is the env's observation), ``/camera/image_raw`` (``rgb8``),
   ``/camera/depth/image_raw`` (``32FC1``, metres) and ``/camera/camera_info`` when a camera is on;
3. ``/joint_states``, ``/tf`` (``odom`` -> ``base_link``; static sensor frames once on
   ``/tf_static``);
4. ``/odom`` (``nav_msgs/Odometry``) last: the step's closing message, the one a lockstep
   controller answers.

The per-step messages are preallocated CDR buffers patched in place (:mod:`simsuite.ros.cdr`),
byte-identical to rosbags' encoding. Episode k is reset with seed ``seed + k``, and a recording
holds each episode's seed, parameters and full env state, so ``simsuite calibrate --real <bag>``
replays the session exactly.

Readings are exactly what the env's observation holds (the LIDAR ranges published are the
``obs["lidar"]`` array, with its sample stamp).

Stepping:

- **lockstep** (``lockstep=True``): after publishing step k the bridge waits for one command
  on the family's command topic (see :mod:`simsuite.ros.families`) that arrives after step k
  was published, converts and checks it, and steps. When ``timeout_s`` passes without one, the
  ``on_timeout`` policy decides, and ``stats.timeouts`` counts it (never silently):
  ``"raise"`` (default) raises :class:`LockstepTimeout`; ``"hold"`` steps with the last
  accepted command; ``"step"`` steps anyway with the stop command (zero twist, motors off).
- **free-running** (``lockstep=False``): the simulation keeps ``real_time_factor`` × wall time,
  applying the newest command; a command older than ``command_timeout_s`` (wall) is replaced
  by the stop command (``stats.stale_commands`` counts the steps), as robot drivers do with
  ``cmd_vel``.

A message that fails the checks (wrong type, NaN or inf, wrong array length, unknown joint,
undecodable bytes) is logged with its reason, counted in ``stats.rejected`` and never reaches
the physics. With ``record=path`` the session is written to a ROS 2 bag (MCAP), see
:mod:`simsuite.ros.bag`.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import gymnasium
import numpy as np

from simsuite.ros import messages as M
from simsuite.ros.cdr import CdrTemplate, Outgoing
from simsuite.ros.families import Profile, profile_for
from simsuite.ros.messages import MessageRejected
from simsuite.ros.transport import Qos, Transport, make_transport
from simsuite.transforms import mat_to_quat

log = logging.getLogger("simsuite.ros")

TIMEOUT_POLICIES = ("raise", "hold", "step")
_IMU_QOS = Qos(depth=100)  # a control step carries many IMU samples (20 at 200 Hz under 10 Hz)


class LockstepTimeout(TimeoutError):
    """No command answered a lockstep step within the timeout (policy ``"raise"``)."""


class SampleTap:
    """Keeps every sample a rated sensor takes until the bridge publishes it.

    The sensor suite keeps only the reading an observation delivers; an IMU sampled at
    200 Hz under a 10 Hz control step takes 20. The tap wraps the sensor's ``sample`` (its
    contract method) on this one instance, so the bridge can publish each at its own stamp.
    """

    def __init__(self, sensor: Any):
        self._sample = sensor.sample
        self._pending: deque[tuple[float, np.ndarray]] = deque()
        sensor.sample = self

    def __call__(self, backend: Any, t_s: float) -> np.ndarray:
        value = self._sample(backend, t_s)
        self._pending.append((t_s, value))
        return value

    def clear(self) -> None:
        self._pending.clear()

    def delivered(self, until_s: float) -> list[tuple[float, np.ndarray]]:
        """The samples stamped up to ``until_s`` (now minus the sensor's latency), oldest first."""
        out, pending = [], self._pending
        while pending and pending[0][0] <= until_s + 1e-9:
            out.append(pending.popleft())
        return out


@dataclass
class BridgeStats:
    steps: int = 0
    commands: int = 0  # accepted commands
    rejected: int = 0
    timeouts: int = 0  # lockstep steps without an answer in time
    stale_commands: int = 0  # free-running steps that used the stop command for lack of a fresh one
    last_reject: str = ""
    env_step_s: list[float] = field(default_factory=list)  # wall time of each env.step
    bridge_s: list[float] = field(default_factory=list)  # the bridge's own time per step: command checks, encoding, publishing
    bridge_cpu_s: list[float] = field(default_factory=list)  # the same as this thread's CPU time (without waits for a busy CPU)
    cycle_s: list[float] = field(default_factory=list)  # wall time from one step's start to the next's, waiting included

    def summary(self) -> dict[str, Any]:
        d = {k: v for k, v in self.__dict__.items() if not isinstance(v, list)}
        if self.bridge_s:
            d["bridge_ms_median"] = round(1e3 * float(np.median(self.bridge_s)), 4)
            d["env_step_ms_median"] = round(1e3 * float(np.median(self.env_step_s)), 4)
        return d


class SimBridge:
    """Run a SimSuite env as a ROS node.

    Args:
        env: a registered id (``"SimSuite/Nav-v0"``) or an env; an id is made with every default
            sensor observed (``obs=("state", "lidar", "imu")`` for Nav) unless ``env_kwargs`` says otherwise.
        transport: ``"dds"`` (Cyclone, default: loopback only), ``"rclpy"``, ``"ros1"`` or a :class:`Transport`.
        lockstep, timeout_s, on_timeout: see the module notes.
        real_time_factor: free-running pace (1 = real time, 0 = as fast as possible).
        command_timeout_s: free-running: a command older than this is replaced by the stop command.
        topics: topic name overrides by key (``{"command": "/robot1/cmd_vel", "scan": "/robot1/scan"}``).
        camera: publish RGB and depth images of a ``(width, height)`` observation camera (e.g. ``(640, 480)``).
        record: a folder path: write the session to a ROS 2 bag (MCAP) there.
        seed: episode k is reset with ``seed + k`` (None: a random base seed, recorded in the bag).
        interface, domain_id: DDS only: the network interface (default loopback) and domain.
    """

    def __init__(
        self,
        env: str | gymnasium.Env,
        transport: str | Transport = "dds",
        *,
        lockstep: bool = True,
        timeout_s: float = 1.0,
        on_timeout: str = "raise",
        real_time_factor: float = 1.0,
        command_timeout_s: float = 0.5,
        topics: Mapping[str, str] | None = None,
        camera: tuple[int, int] | None = None,
        record: str | Path | None = None,
        seed: int | None = 0,
        interface: str | None = None,
        domain_id: int | None = None,
        env_kwargs: Mapping[str, Any] | None = None,
    ):
        if on_timeout not in TIMEOUT_POLICIES:
            raise ValueError(f"on_timeout must be one of {TIMEOUT_POLICIES}, got {on_timeout!r}")
        if not (isinstance(timeout_s, (int, float)) and timeout_s > 0):
            raise ValueError(f"timeout_s must be a positive number of seconds, got {timeout_s!r}")
        if not (isinstance(real_time_factor, (int, float)) and real_time_factor >= 0):
            raise ValueError(f"real_time_factor must be >= 0 (0 = as fast as possible), got {real_time_factor!r}")
        self.env_id = env if isinstance(env, str) else getattr(getattr(env, "spec", None), "id", None)
        self.env = self._make_env(env, camera, env_kwargs) if isinstance(env, str) else env
        self.sim = self.env.unwrapped
        self.profile: Profile = profile_for(self.sim.task)
        self.topics = self.profile.topic_names(dict(topics or {}))
        self.lockstep, self.timeout_s, self.on_timeout = lockstep, float(timeout_s), on_timeout
        self.real_time_factor, self.command_timeout_s = float(real_time_factor), float(command_timeout_s)
        # episode k is reset with seed + k, so that its (procedural) world can be rebuilt for calibration
        self.seed = int(np.random.SeedSequence().entropy % 2**31) if seed is None else int(seed)
        self.stats = BridgeStats()
        self._owns_transport = isinstance(transport, str)
        self.transport = make_transport(transport, node_name="simsuite_bridge", domain_id=domain_id, interface=interface) if isinstance(transport, str) else transport
        self._inbox: deque[tuple[float, Any]] = deque()
        self._arrived = threading.Condition()
        self._last_action: np.ndarray | None = None  # the action of the last step
        self._last_accepted: np.ndarray | None = None  # the last command that passed the checks
        self._accept_s = self._accept_cpu_s = 0.0  # time (wall, CPU) spent checking and converting commands this step
        self._cycle_start: float | None = None
        self._last_command_wall = -math.inf
        self._published_stamp: dict[str, float] = {}
        self._outgoing: dict[str, Outgoing] = {}  # preallocated per-step messages by topic key
        self._taps: dict[str, SampleTap] = {}  # rated sensors published at their own rate
        self._joints_cache: list[str] | None = None
        self._recorder = None
        self._record_path = Path(record) if record is not None else None
        self._pubs: dict[str, Any] = {}
        self._started = False
        self._closed = False
        self.obs: Any = None
        self.info: dict[str, Any] = {}
        self.done = False
        self.episode = 0
        self._t_offset = 0.0  # ROS time of this episode's start: /clock never runs backwards across resets

    # -- setup -------------------------------------------------------------------------
    @staticmethod
    def _make_env(env_id: str, camera, env_kwargs) -> gymnasium.Env:
        import simsuite  # noqa: F401  (registers the ids)
        from simsuite.env import resolve_task

        kwargs = dict(env_kwargs or {})
        if "obs" not in kwargs:
            spec = gymnasium.spec(env_id)
            task_options = {k: v for k, v in kwargs.items() if k not in ("backend", "sensors", "camera", "render_mode")}
            task = resolve_task(spec.kwargs["task"], task_options)
            obs = ["state", *task.default_sensors()]
            if camera is not None:
                obs += ["rgb", "depth"]
            kwargs["obs"] = tuple(obs) if len(obs) > 1 else obs[0]
        if camera is not None:
            width, height = camera
            kwargs.setdefault("camera", {"width": int(width), "height": int(height)})
        return gymnasium.make(env_id, **kwargs)

    def _pub(self, key: str, msgtype: str, qos: Qos = Qos()):
        if key not in self._pubs:
            self._pubs[key] = self.transport.publisher(self.topics[key], msgtype, qos)
        return self._pubs[key]

    def start(self, wait_for_peer_s: float = 0.0) -> Any:
        """Reset the env, subscribe to commands, publish the static frames and step 0's topics.

        ``wait_for_peer_s``: first wait up to this long for a subscriber on ``/odom`` and a
        publisher on the command topic (DDS discovery takes a moment; without it a lockstep
        controller that is still starting misses step 0). Returns the first observation.
        """
        if self._started:
            return self.obs
        self.transport.subscribe(self.topics["command"], self.profile.command_type, self._on_command, self._on_reject)
        odom = self._pub("odom", "nav_msgs/msg/Odometry")
        deadline = time.perf_counter() + wait_for_peer_s
        while time.perf_counter() < deadline:
            if odom.subscriber_count() != 0 and self.transport.publisher_count(self.topics["command"]) != 0:
                break
            time.sleep(0.01)
        sensors = self.sim.sensors
        self._sensor_names = list(sensors.sensors) if sensors is not None else []
        for name in self._sensor_names:
            sensor = sensors[name]
            if type(sensor).__name__ == "Imu" and sensor.rate_hz is not None:
                self._taps[name] = SampleTap(sensor)
        self.obs, self.info = self.env.reset(seed=self.episode_seed)
        if self._record_path is not None:
            from simsuite.ros.bag import BagRecorder

            self._recorder = BagRecorder(self._record_path, env_id=self.env_id, env=self.env, source="bridge",
                                         extra_meta={"lockstep": self.lockstep, "seed": self.seed, "backend": self.sim.backend_name,
                                                     "env_state_layout": "SimEnv.get_state"})
            self._record_reset()
        self._publish_static()
        with self._arrived:
            self._inbox.clear()
        self._publish_step()
        self._started = True
        return self.obs

    @property
    def episode_seed(self) -> int:
        """The reset seed of the current episode: ``seed + episode``."""
        return self.seed + self.episode

    def _record_reset(self) -> None:
        """The episode's first observation with what replaying it needs: its seed, the
        parameters in force and the full env state (engine, task, action queue)."""
        self._recorder.reset(self.obs, self.ros_time, self.sim.get_state(), seed=self.episode_seed,
                             params=self.info.get("params", {}))

    # -- commands in -----------------------------------------------------------------------
    def _on_command(self, msg: Any) -> None:
        """Receive thread: keep the message; it is checked and converted on the stepping thread."""
        with self._arrived:
            self._inbox.append((time.perf_counter(), msg))
            self._arrived.notify()

    def _on_reject(self, topic: str, reason: str) -> None:
        self.stats.rejected += 1
        self.stats.last_reject = f"{topic}: {reason}"
        if self._recorder is not None:
            self._recorder.note(f"rejected {topic}: {reason}", self.ros_time if self._started else 0.0)

    def _accept(self, msg: Any) -> np.ndarray | None:
        """The message as an action, or None (logged, counted) if it fails a check."""
        t0, c0 = time.perf_counter(), time.thread_time()
        try:
            return self._convert(msg)
        finally:
            self._accept_s += time.perf_counter() - t0
            self._accept_cpu_s += time.thread_time() - c0

    def _convert(self, msg: Any) -> np.ndarray | None:
        try:
            action = np.asarray(self.profile.to_action(msg, self.sim), dtype=np.float64)
            if action.shape != self.sim.action_space.shape or not np.isfinite(action).all():
                raise MessageRejected(f"converted to an invalid action {action}")
        except MessageRejected as exc:
            log.warning("rejected a message on %s: %s", self.topics["command"], exc)
            self._on_reject(self.topics["command"], str(exc))
            return None
        self.stats.commands += 1
        self._last_accepted = action
        if self._recorder is not None:
            self._recorder.write(self.topics["command"], self.profile.command_type, M.serialize(msg, self.profile.command_type), self.ros_time)
        return action

    def _stop_action(self) -> np.ndarray:
        stop = self.profile.stop(self.sim.task, {}) if self.profile.stop is not None else None
        if stop is not None:
            return np.asarray(self.profile.to_action(stop, self.sim), dtype=np.float64)
        return np.zeros(self.sim.action_space.shape)

    def _wait_for_command(self) -> np.ndarray:
        """Lockstep: the first valid command after this step was published, or the timeout policy."""
        deadline = time.perf_counter() + self.timeout_s
        while True:
            with self._arrived:
                while not self._inbox:
                    left = deadline - time.perf_counter()
                    if left <= 0 or not self._arrived.wait(left):
                        break
                item = self._inbox.popleft() if self._inbox else None
            if item is None:
                return self._timed_out()
            action = self._accept(item[1])
            if action is not None:
                return action

    def _timed_out(self) -> np.ndarray:
        self.stats.timeouts += 1
        t = self.sim.backend.time_s
        what = f"no valid command on {self.topics['command']} within {self.timeout_s} s after step {self.stats.steps} (sim time {t:.3f} s)"
        if self.on_timeout == "raise":
            raise LockstepTimeout(what)
        if self.on_timeout == "hold" and self._last_accepted is not None:
            log.warning("%s: holding the last command (timeout %d)", what, self.stats.timeouts)
            return self._last_accepted
        log.warning("%s: stepping with the stop command (timeout %d)", what, self.stats.timeouts)
        return self._stop_action()

    def _latest_command(self) -> np.ndarray:
        """Free-running: the newest valid command, or the stop command once it is stale."""
        with self._arrived:
            items = list(self._inbox)
            self._inbox.clear()
        for arrived, msg in reversed(items):
            action = self._accept(msg)
            if action is not None:
                self._last_action, self._last_command_wall = action, arrived
                break
        if self._last_action is None or time.perf_counter() - self._last_command_wall > self.command_timeout_s:
            self.stats.stale_commands += 1
            return self._stop_action()
        return self._last_action

    # -- stepping ---------------------------------------------------------------------------
    def step(self) -> tuple[Any, float, bool, bool, dict]:
        """One control step: get the command (lockstep: wait for it), step the env, publish."""
        if not self._started:
            self.start()
        if self.done:
            self._t_offset = self.ros_time + self.sim.task.control_dt_s
            for tap in self._taps.values():
                tap.clear()  # samples of the old episode that were never due
            self.episode += 1
            self.obs, self.info = self.env.reset(seed=self.episode_seed)
            self.done = False
            self._published_stamp.clear()
            if self._recorder is not None:
                self._record_reset()
        t_start = time.perf_counter()
        action = self._wait_for_command() if self.lockstep else self._latest_command()
        t_command, c_command = time.perf_counter(), time.thread_time()
        self._last_action = action
        t_action = self.ros_time
        with self._arrived:
            self._inbox.clear()  # whatever came before this step's topics answered an earlier step
        t0, c0 = time.perf_counter(), time.thread_time()
        obs, reward, terminated, truncated, info = self.env.step(action.astype(np.float32))
        t1, c1 = time.perf_counter(), time.thread_time()
        self.obs, self.info = obs, info
        self.stats.steps += 1
        if self._recorder is not None:
            self._recorder.step(action, t_action, obs, self.ros_time, reward, terminated, truncated, self.sim.get_state())
        self._publish_step()
        t2, c2 = time.perf_counter(), time.thread_time()
        self.stats.env_step_s.append(t1 - t0)
        self.stats.bridge_s.append((t2 - t1) + (t0 - t_command) + self._accept_s)
        self.stats.bridge_cpu_s.append((c2 - c1) + (c0 - c_command) + self._accept_cpu_s)
        if self._cycle_start is not None:
            self.stats.cycle_s.append(t_start - self._cycle_start)
        self._cycle_start, self._accept_s, self._accept_cpu_s = t_start, 0.0, 0.0
        self.done = terminated or truncated
        return obs, reward, terminated, truncated, info

    def spin(self, steps: int | None = None, duration_s: float | None = None, wait_for_peer_s: float = 0.0) -> BridgeStats:
        """Step until ``steps`` steps or ``duration_s`` wall seconds (default: until interrupted)."""
        self.start(wait_for_peer_s)
        wall0, sim0 = time.perf_counter(), self.sim.backend.time_s
        n = 0
        while (steps is None or n < steps) and (duration_s is None or time.perf_counter() - wall0 < duration_s):
            self.step()
            n += 1
            if not self.lockstep and self.real_time_factor > 0:
                ahead = (self.sim.backend.time_s - sim0) / self.real_time_factor - (time.perf_counter() - wall0)
                if ahead > 0:
                    time.sleep(ahead)
        return self.stats

    # -- publishing -------------------------------------------------------------------------
    @property
    def ros_time(self) -> float:
        """The time on /clock and in every stamp: the episode's simulation time plus the
        session time of earlier episodes."""
        return self._t_offset + self.sim.backend.time_s

    def _publish(self, key: str, msgtype: str, msg: Any, t_s: float, qos: Qos = Qos()) -> None:
        """Encode with rosbags and send: messages that are rare or change size (static frames, point clouds)."""
        data = self._pub(key, msgtype, qos).publish(msg)
        if self._recorder is not None:
            self._recorder.write(self.topics[key], msgtype, data, t_s)

    def _send(self, key: str, message: CdrTemplate, t_s: float, qos: Qos = Qos()) -> None:
        """Send a preallocated message (:mod:`simsuite.ros.cdr`): the per-step path."""
        self._pub(key, message.msgtype, qos).publish_template(message)
        if self._recorder is not None:
            self._recorder.write(self.topics[key], message.msgtype, message.bytes(), t_s)

    def _out(self, key: str, build: Callable[[], Any], fields: dict[str, str], stamp: str = "header.stamp") -> Outgoing:
        """The topic's preallocated message, built once by ``build()`` with its fixed parts."""
        out = self._outgoing.get(key)
        if out is None:
            out = self._outgoing[key] = Outgoing(build(), fields, stamp)
        return out

    def _publish_static(self) -> None:
        backend, base = self.sim.backend, self.profile.base_body
        t = self.ros_time
        transforms = []
        for name in self._sensor_names:
            sensor = self.sim.sensors[name]
            resolved = getattr(sensor, "_resolved", None) or sensor.mount.resolve(backend)
            parent = "base_link" if resolved.body == base else resolved.body
            transforms.append(M.transform(t, parent, name, resolved.pos, mat_to_quat(resolved.rot)))
        if transforms:
            self._publish("tf_static", "tf2_msgs/msg/TFMessage", M.tf_message(transforms), t, Qos(depth=1, transient_local=True))

    def _publish_step(self) -> None:
        backend, obs = self.sim.backend, self.obs
        t = self.ros_time
        self._send("clock", self._out("clock", lambda: M.clock(0.0), {}, stamp="clock").fill(t), t)
        for name in self._sensor_names:
            self._publish_sensor(name)
        if isinstance(obs, dict) and "rgb" in obs:
            self._publish_camera(t, obs)
        if self._joints:
            q, qd = backend.joint_states(self._joints)
            out = self._out("joint_states", lambda: M.joint_state(0.0, self._joints, q, qd), {"q": "position", "qd": "velocity"})
            self._send("joint_states", out.fill(t, q=q, qd=qd), t)
        pos, quat = backend.body_pose(self.profile.base_body)
        lin, ang = backend.body_velocity(self.profile.base_body, "body")
        xyzw = (quat[1], quat[2], quat[3], quat[0])
        tf = self._out("tf", lambda: M.tf_message([M.transform(0.0, "odom", "base_link", pos, quat)]),
                       {"pos": "transforms.0.transform.translation", "quat": "transforms.0.transform.rotation"}, "transforms.0.header.stamp")
        self._send("tf", tf.fill(t, pos=pos, quat=xyzw), t, Qos(depth=100))
        odom = self._out("odom", lambda: M.odometry(0.0, "odom", "base_link", pos, quat, lin, ang),
                         {"pos": "pose.pose.position", "quat": "pose.pose.orientation", "lin": "twist.twist.linear", "ang": "twist.twist.angular"})
        self._send("odom", odom.fill(t, pos=pos, quat=xyzw, lin=lin, ang=ang), t)

    @property
    def _joints(self) -> list[str]:
        """The profile's joints this world has (published on /joint_states)."""
        if self._joints_cache is None:
            present = {j.name for b, _, _ in self.sim.backend.scene.walk() if (j := b.joint) is not None}
            self._joints_cache = [j for j in self.profile.joints if j in present]
        return self._joints_cache

    def _publish_sensor(self, name: str) -> None:
        suite = self.sim.sensors
        sensor = suite[name]
        tap = self._taps.get(name)
        if tap is not None:
            self._publish_imu_samples(name, tap.delivered(suite.time_s - sensor.latency_s))
            return
        t_sample, reading = suite.stamped(name)
        if self._published_stamp.get(name) == t_sample:
            return  # nothing new since the last step
        self._published_stamp[name] = t_sample
        self._publish_reading(name, sensor, self._t_offset + t_sample, reading)

    def _publish_imu_samples(self, name: str, samples: list[tuple[float, np.ndarray]]) -> None:
        """Every IMU sample since the last step, each stamped with its own sample time (a tight
        loop: at 200 Hz under a 10 Hz control step this runs 20 times per step)."""
        if not samples:
            return
        out = self._out("imu", lambda: M.imu(0.0, name, samples[0][1]), {"acc": "linear_acceleration", "gyro": "angular_velocity"})
        stamp, acc, gyro = out.stamp, out.view("acc"), out.view("gyro")
        message, pub, recorder, offset = out.template, self._pub("imu", out.template.msgtype, _IMU_QOS), self._recorder, self._t_offset
        for t_sample, reading in samples:
            t_s = offset + t_sample
            stamp.set(t_s)
            acc[:] = reading[0:3]
            gyro[:] = reading[3:6]
            pub.publish_template(message)
            if recorder is not None:
                recorder.write(self.topics["imu"], message.msgtype, message.bytes(), t_s)

    def _publish_reading(self, name: str, sensor: Any, t_s: float, reading: np.ndarray) -> None:
        kind = type(sensor).__name__
        if kind == "Lidar":
            cfg = sensor.config
            if cfg.channels == 1:
                scan_time = 1.0 / cfg.rate_hz if cfg.rate_hz else self.sim.task.control_dt_s
                out = self._out("scan", lambda: M.laser_scan(0.0, name, reading, cfg, scan_time), {"ranges": "ranges"})
                self._send("scan", out.fill(t_s, ranges=reading), t_s)
            else:
                r = reading.reshape(-1)
                valid = (r > cfg.range_min_m) & (r < cfg.range_max_m)
                pts = sensor.directions_sensor[valid] * r[valid, None]
                self._publish("points", "sensor_msgs/msg/PointCloud2", M.point_cloud(t_s, name, pts), t_s)
        elif kind == "Imu":
            self._publish_imu_samples(name, [(t_s - self._t_offset, reading)])

    def _publish_camera(self, t: float, obs: dict) -> None:
        rgb = obs["rgb"]
        height, width = rgb.shape[:2]
        qos = Qos(depth=1)
        image = self._out("image", lambda: M.image(0.0, "camera_optical", rgb), {"data": "data"})
        self._send("image", image.fill(t, data=rgb.reshape(-1)), t, qos)
        if "depth" in obs:
            depth = obs["depth"]
            out = self._out("depth", lambda: M.image(0.0, "camera_optical", depth), {"data": "data"})
            self._send("depth", out.fill(t, data=np.ascontiguousarray(depth).view(np.uint8).reshape(-1)), t, qos)
        info = self._out("camera_info", lambda: M.camera_info(0.0, "camera_optical", width, height, _camera_fovy_deg(self.sim)), {})
        self._send("camera_info", info.fill(t), t, qos)

    # -- end ------------------------------------------------------------------------------------
    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._owns_transport:
            self.transport.close()  # first: no receive callback runs after this
        if self._recorder is not None:
            self._recorder.close(self.stats.summary())
            self._recorder = None
        self.env.close()

    def __enter__(self) -> "SimBridge":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _camera_fovy_deg(sim) -> float:
    """The observation camera's vertical field of view (60° when it cannot be read)."""
    view = getattr(sim, "_obs_view", None)
    for attr in ("camera", "cameras"):
        cams = getattr(view, attr, None)
        cams = cams if isinstance(cams, Sequence) else [cams]
        for cam in cams:
            fovy = getattr(cam, "fovy_deg", None)
            if fovy:
                return float(fovy)
    return 60.0
