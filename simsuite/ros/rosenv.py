"""RosEnv: a robot on ROS as a gymnasium env with the same spaces as its sim twin.

``RosEnv("SimSuite/Nav-v0", obs=("state", "lidar", "imu"))`` has exactly the observation and
action spaces of ``gymnasium.make("SimSuite/Nav-v0", obs=(...))``, so a policy trained in
simulation runs on the robot unchanged. ``step(action)`` turns the action into the family's
command message (:mod:`simsuite.ros.families`: a ``Twist`` for Nav and Drive, a ``JointState``
of joint targets for Grasp, ``Actuators`` or a ``Twist`` for UAV), publishes it, and waits for a **fresh** observation: for every topic the
observation needs, a message that arrived after the command was sent and whose header stamp
is newer than the one used last step (and, with ``max_skew_s``, within that much of the newest
of them). A message that fails the checks (wrong array length, NaN in a field that must be
finite) is logged and skipped, as in the bridge.

When no fresh observation comes within ``timeout_s`` the ``on_timeout`` policy decides, and
``timeouts`` counts it: ``"raise"`` (default) publishes the stop command and raises
:class:`RosTimeout`; ``"hold"`` returns the last observation with ``info["stale"] = True``;
``"truncate"`` returns it with ``truncated=True``. The stop command (zero twist, motors off, the measured joints held) is
also published on ``close()`` and when ``step`` fails.

Observations from topics (what a real robot has):

- ``lidar``: ``LaserScan.ranges`` (length checked against the twin's space; NaN, inf and
  returns beyond ``range_max`` read the twin's no-return value);
- ``imu``: ``Imu.linear_acceleration`` then ``angular_velocity``;
- ``state``, Nav: goal distance and bearing from ``/odom`` and the goal given in
  ``reset(options={"goal_xy": (x, y)})`` (odom frame); speeds from the odometry twist; the
  command in force; the free-space ring from the scan beams nearest the ring's angles
  (measured from the LIDAR, not the sim's ring origin at the LIDAR head: the same to a few cm);
- ``state``, UAV (``mission="hover"`` or ``"waypoints"``): target minus position (target from
  ``reset(options={"target": (x, y, z)})``), attitude matrix, world velocity and body rates from
  ``/odom``, the last action.

- ``state``, Grasp: joint positions and speeds from ``/joint_states``, the grasp frame by
  forward kinematics of them, the target object's pose from ``/object_pose``
  (``geometry_msgs/PoseStamped`` in the world frame, from the robot's perception);
- ``lidar`` with several channels (Drive's VLP-16): the ``PointCloud2`` on ``/points`` (sensor
  frame) binned to the twin's (channels, samples) range image, beams without a point reading
  the no-return value.

Drive's and Grasp's commands need the robot's latest measurement (``/odom`` for the pedal,
which is relative to the measured speed; ``/joint_states`` for the IK): an observation is ready
only once fresh ones have arrived too, so that the next command is made from the measurement
that goes with the observation. Drive's task state needs the lane geometry, which no robot
topic carries, and is refused with a message; its sensors work.

Rewards and episode ends need the task's privileged state too: pass ``reward_fn(obs, action)``
and ``terminated_fn(obs)`` (default: reward 0, never terminated; truncation by ``max_episode_steps``).
"""

from __future__ import annotations

import logging
import math
import threading
import time
from pathlib import Path
from typing import Any, Callable, Mapping

import gymnasium
import numpy as np

from simsuite.ros import messages as M
from simsuite.ros.families import profile_for
from simsuite.ros.messages import MessageRejected
from simsuite.ros.transport import Transport, make_transport
from simsuite.transforms import quat_to_mat

log = logging.getLogger("simsuite.ros")

ON_TIMEOUT = ("raise", "hold", "truncate")
_TOPIC_TYPES = {"scan": "sensor_msgs/msg/LaserScan", "points": "sensor_msgs/msg/PointCloud2", "imu": "sensor_msgs/msg/Imu",
                "odom": "nav_msgs/msg/Odometry", "joint_states": "sensor_msgs/msg/JointState",
                "object_pose": "geometry_msgs/msg/PoseStamped"}


def _cloud_xyz(cloud) -> np.ndarray:
    """(N, 3) float32 points of a PointCloud2 with float32 x, y, z fields (any point step)."""
    offsets = {f.name: (f.offset, f.datatype) for f in cloud.fields}
    if any(offsets.get(k, (0, 0))[1] != 7 for k in "xyz"):  # 7 = FLOAT32
        raise MessageRejected(f"point cloud needs float32 x, y, z fields, got {sorted(offsets)}")
    n, step = int(cloud.width) * int(cloud.height), int(cloud.point_step)
    data = np.asarray(cloud.data, np.uint8)
    if cloud.is_bigendian or step < 12 or len(data) != n * step:
        raise MessageRejected(f"point cloud of {n} points × {step} bytes has {len(data)} bytes of data")
    rows = data.reshape(n, step)
    return np.stack([rows[:, offsets[k][0]:offsets[k][0] + 4].copy().view("<f4")[:, 0] for k in "xyz"], axis=1)


class RosTimeout(TimeoutError):
    """No fresh observation within the timeout (policy ``"raise"``)."""


class RosEnv(gymnasium.Env):
    """A ROS robot as a gymnasium env; see the module notes.

    Args:
        twin: the registered id of the sim twin whose spaces this env has.
        transport: ``"dds"`` (default, loopback), ``"rclpy"``, ``"ros1"`` or a :class:`Transport`.
        obs: observation modalities, as the twin takes them.
        twin_kwargs: further keyword arguments of the twin (task options such as ``action="ctbr"``).
        topics: topic name overrides (``{"command": "/robot1/cmd_vel", "scan": "/robot1/scan"}``).
        timeout_s, on_timeout, max_skew_s: freshness rules (see the module notes).
        reward_fn, terminated_fn: reward and termination from (observation, action) / observation.
        max_episode_steps: truncate after this many steps (None: never).
        record: a folder path: record the session to a ROS 2 bag (MCAP).
        wait_for_peer_s: the first reset waits up to this long for the robot's topics to be discovered.
    """

    metadata = {"render_modes": []}

    def __init__(
        self,
        twin: str,
        transport: str | Transport = "dds",
        *,
        obs: str | tuple[str, ...] = "state",
        twin_kwargs: Mapping[str, Any] | None = None,
        topics: Mapping[str, str] | None = None,
        timeout_s: float = 1.0,
        on_timeout: str = "raise",
        max_skew_s: float | None = None,
        reward_fn: Callable[[Any, np.ndarray], float] | None = None,
        terminated_fn: Callable[[Any], bool] | None = None,
        max_episode_steps: int | None = None,
        record: str | Path | None = None,
        interface: str | None = None,
        domain_id: int | None = None,
        wait_for_peer_s: float = 0.0,
    ):
        if on_timeout not in ON_TIMEOUT:
            raise ValueError(f"on_timeout must be one of {ON_TIMEOUT}, got {on_timeout!r}")
        if not (isinstance(timeout_s, (int, float)) and timeout_s > 0):
            raise ValueError(f"timeout_s must be a positive number of seconds, got {timeout_s!r}")
        import simsuite  # noqa: F401  (registers the ids)

        twin_env = gymnasium.make(twin, obs=obs, **dict(twin_kwargs or {}))
        try:
            self.task = twin_env.unwrapped.task
            self.observation_space = twin_env.observation_space
            self.action_space = twin_env.action_space
            self._sensor_spaces = twin_env.unwrapped.sensors.spaces() if twin_env.unwrapped.sensors is not None else {}
            self._lidar_cfg = twin_env.unwrapped.sensors["lidar"].config if "lidar" in self._sensor_spaces else None
        finally:
            twin_env.close()
        self.twin_id = twin
        self.modalities = (obs,) if isinstance(obs, str) else tuple(obs)
        self.profile = profile_for(self.task)
        self._check_modalities()
        self.topics = self.profile.topic_names(dict(topics or {}))
        self.timeout_s, self.on_timeout, self.max_skew_s = float(timeout_s), on_timeout, max_skew_s
        self.reward_fn, self.terminated_fn, self.max_episode_steps = reward_fn, terminated_fn, max_episode_steps
        self.timeouts = 0
        self.rejected = 0
        self._owns_transport = isinstance(transport, str)
        self.transport = make_transport(transport, node_name="simsuite_rosenv", domain_id=domain_id, interface=interface) if isinstance(transport, str) else transport
        self._cond = threading.Condition()
        self._latest: dict[str, tuple[float, float, Any]] = {}  # key -> (arrival perf_counter, stamp s, message)
        self._used_stamp: dict[str, float] = {}
        # the command's inputs must be as fresh as the observation: the next command is made from them
        self._needed = list(dict.fromkeys(self._needed_topics() + list(self.profile.inputs)))
        for key in self._needed:
            self.transport.subscribe(self.topics[key], _TOPIC_TYPES[key], self._receiver(key), self._on_reject)
        self._command = self.transport.publisher(self.topics["command"], self.profile.command_type)
        self._goal = np.zeros(3)
        self._last_action = np.zeros(self.action_space.shape)
        self._last_obs: Any = None
        self._steps = 0
        self._recorder = None
        if record is not None:
            from simsuite.ros.bag import BagRecorder

            self._recorder = BagRecorder(record, env_id=twin, env=self, source="rosenv", extra_meta={"topics": self.topics})
        self._wait_for_peer_s = float(wait_for_peer_s)
        self._closed = False

    # -- what is needed -------------------------------------------------------------------
    def _check_modalities(self) -> None:
        family = self.profile.family
        for m in self.modalities:
            if m == "state" and family in ("nav", "grasp"):
                continue
            if m == "state" and family == "uav" and self.task.mission != "gates":
                continue
            if m in ("lidar", "imu") and m in self._sensor_spaces:
                continue
            raise ValueError(f"RosEnv: observation {m!r} of the {family} family cannot be built from robot topics; "
                             "supported: nav state, grasp state, uav state (hover, waypoints), lidar, imu "
                             "(Drive's state needs the lane geometry, which no robot topic carries)")

    def _needed_topics(self) -> list[str]:
        keys = []
        state = {"nav": ["odom", "scan"], "uav": ["odom"], "grasp": ["joint_states", "object_pose"]}.get(self.profile.family, [])
        for m in self.modalities:
            lidar = ["scan"] if self._lidar_cfg is None or self._lidar_cfg.channels == 1 else ["points"]
            keys += {"lidar": lidar, "imu": ["imu"], "state": state}[m]
        return list(dict.fromkeys(keys))

    # -- receiving ----------------------------------------------------------------------------
    def _receiver(self, key: str):
        def on_message(msg: Any) -> None:
            try:
                stamp = M.to_seconds(msg.header.stamp)
                self._check(key, msg)
            except MessageRejected as exc:
                log.warning("rejected a message on %s: %s", self.topics[key], exc)
                self._on_reject(self.topics[key], str(exc))
                return
            with self._cond:
                self._latest[key] = (time.perf_counter(), stamp, msg)
                self._cond.notify_all()
            if self._recorder is not None:
                self._recorder.write(self.topics[key], _TOPIC_TYPES[key], M.serialize(msg, _TOPIC_TYPES[key]), time.time())

        return on_message

    def _on_reject(self, topic: str, reason: str) -> None:
        self.rejected += 1

    def _check(self, key: str, msg: Any) -> None:
        if key == "scan" and self._lidar_cfg is not None and "lidar" in self.modalities:
            M.check_length("ranges", msg.ranges, self._lidar_cfg.horizontal_samples)
        elif key == "points":
            _cloud_xyz(msg)
        elif key == "joint_states":
            n = len(msg.name)
            if len(msg.position) != n or len(msg.velocity) not in (0, n):
                raise MessageRejected(f"joint_states has {n} names, {len(msg.position)} positions, {len(msg.velocity)} velocities")
            M.check_finite("joint_states", np.r_[msg.position, msg.velocity])
            if self.profile.joints:
                missing = [j for j in self.profile.joints if j not in msg.name]
                if missing:
                    raise MessageRejected(f"joint_states lacks {missing}")
        elif key == "object_pose":
            p, q = msg.pose.position, msg.pose.orientation
            M.check_finite("object_pose", [p.x, p.y, p.z, q.w, q.x, q.y, q.z])
            if abs(math.sqrt(q.w**2 + q.x**2 + q.y**2 + q.z**2) - 1) > 1e-3:
                raise MessageRejected(f"object_pose orientation is not a unit quaternion: {(q.x, q.y, q.z, q.w)}")
        elif key == "imu":
            M.check_finite("imu", [msg.linear_acceleration.x, msg.linear_acceleration.y, msg.linear_acceleration.z,
                                   msg.angular_velocity.x, msg.angular_velocity.y, msg.angular_velocity.z])
        elif key == "odom":
            p, q = msg.pose.pose.position, msg.pose.pose.orientation
            tw = msg.twist.twist
            M.check_finite("odom", [p.x, p.y, p.z, q.w, q.x, q.y, q.z, tw.linear.x, tw.linear.y, tw.linear.z, tw.angular.x, tw.angular.y, tw.angular.z])
            if abs(math.sqrt(q.w**2 + q.x**2 + q.y**2 + q.z**2) - 1) > 1e-3:
                raise MessageRejected(f"odom orientation is not a unit quaternion: {(q.x, q.y, q.z, q.w)}")

    def _fresh(self, since: float) -> dict[str, Any] | None:
        """The messages for an observation if every needed topic has a fresh one, else None."""
        got = {}
        for key in self._needed:
            item = self._latest.get(key)
            if item is None or item[0] < since or item[1] <= self._used_stamp.get(key, -math.inf):
                return None
            got[key] = item
        if self.max_skew_s is not None:
            newest = max(s for _, s, _ in got.values())
            if any(newest - s > self.max_skew_s for _, s, _ in got.values()):
                return None
        for key, (_, stamp, _) in got.items():
            self._used_stamp[key] = stamp
        return {key: msg for key, (_, _, msg) in got.items()}

    def _wait(self, since: float) -> dict[str, Any] | None:
        deadline = time.perf_counter() + self.timeout_s
        with self._cond:
            while True:
                got = self._fresh(since)
                left = deadline - time.perf_counter()
                if got is not None or left <= 0:
                    return got
                self._cond.wait(left)

    # -- observations -------------------------------------------------------------------------
    def _observation(self, msgs: dict[str, Any]) -> Any:
        parts = {}
        for m in self.modalities:
            if m == "lidar":
                parts[m] = self._ranges(msgs["scan"]) if "scan" in msgs else self._range_image(msgs["points"])
            elif m == "imu":
                a, w = msgs["imu"].linear_acceleration, msgs["imu"].angular_velocity
                parts[m] = np.array([a.x, a.y, a.z, w.x, w.y, w.z], np.float32)
            else:
                parts[m] = {"nav": self._nav_state, "uav": self._uav_state, "grasp": self._grasp_state}[self.profile.family](msgs)
        if len(self.modalities) == 1:
            return self._clip(self.observation_space, parts[self.modalities[0]])
        return {m: self._clip(self.observation_space[m], parts[m]) for m in self.observation_space.spaces}

    @staticmethod
    def _clip(space: gymnasium.spaces.Box, x) -> np.ndarray:
        return np.clip(np.asarray(x, dtype=np.float64), space.low, space.high).astype(space.dtype)

    def _ranges(self, scan) -> np.ndarray:
        cfg = self._lidar_cfg
        r = np.asarray(scan.ranges, dtype=np.float32).copy()
        no_return = {"max": cfg.range_max_m, "inf": np.inf, "zero": 0.0}[cfg.no_return]
        r[~np.isfinite(r) | (r >= scan.range_max) | (r < scan.range_min)] = no_return
        return r

    def _range_image(self, cloud) -> np.ndarray:
        """A multi-channel LIDAR's (channels, samples) ranges from its PointCloud2 (points in the
        sensor frame): each point goes to the beam nearest its elevation and azimuth; beams
        without a point read the twin's no-return value."""
        cfg = self._lidar_cfg
        no_return = {"max": cfg.range_max_m, "inf": np.inf, "zero": 0.0}[cfg.no_return]
        image = np.full(cfg.shape, no_return, np.float32)
        xyz = _cloud_xyz(cloud).astype(np.float64)
        xyz = xyz[np.isfinite(xyz).all(axis=1)]
        r = np.linalg.norm(xyz, axis=1)
        keep = (r >= cfg.range_min_m) & (r <= cfg.range_max_m)
        xyz, r = xyz[keep], r[keep]
        elev, az = cfg.elevations_rad(), cfg.azimuths_rad()
        channel = np.abs(np.arcsin(xyz[:, 2] / r)[:, None] - elev[None, :]).argmin(axis=1)
        step = (az[-1] - az[0]) / (len(az) - 1) if len(az) > 1 else 1.0
        column = np.rint(((np.arctan2(xyz[:, 1], xyz[:, 0]) - az[0]) % (2 * math.pi)) / step).astype(int) % len(az)
        image.reshape(len(elev), len(az))[channel, column] = r
        return image

    def _grasp_state(self, msgs) -> np.ndarray:
        """The Panda's state vector from ``/joint_states`` (joints, their speeds; the hand by
        forward kinematics) and the target's pose from perception (``/object_pose``, world frame)."""
        from simsuite.worlds.tabletop import ARM_JOINTS, EE_BODY, FINGER_JOINTS

        js, pose = msgs["joint_states"], msgs["object_pose"].pose
        index = {n: i for i, n in enumerate(js.name)}
        order = [index[n] for n in ARM_JOINTS + FINGER_JOINTS]
        q = np.asarray(js.position, np.float64)[order]
        qd = np.asarray(js.velocity, np.float64)[order] if len(js.velocity) else np.zeros(len(order))
        kin = self.task.kinematics
        q_tree = np.zeros(kin.n_joints)
        q_tree[self.task._q_index] = q
        ee, _ = kin.body_pose(q_tree, EE_BODY)
        target = np.array([pose.position.x, pose.position.y, pose.position.z])
        quat = M.quaternion_wxyz(pose.orientation)
        quat = -quat if quat[0] < 0 else quat  # w >= 0, as the twin reports it
        return np.concatenate([q, qd, ee, [q[7] + q[8]], target, quat, target - ee])

    def _nav_state(self, msgs) -> np.ndarray:
        task, odom = self.task, msgs["odom"]
        p, q = odom.pose.pose.position, M.quaternion_wxyz(odom.pose.pose.orientation)
        yaw = math.atan2(2 * (q[0] * q[3] + q[1] * q[2]), 1 - 2 * (q[2] ** 2 + q[3] ** 2))
        dx, dy = self._goal[0] - p.x, self._goal[1] - p.y
        c, s = math.cos(yaw), math.sin(yaw)
        gx, gy = c * dx + s * dy, -s * dx + c * dy
        dist = math.hypot(dx, dy)
        bearing = (gx / dist, gy / dist) if dist > 1e-9 else (1.0, 0.0)
        scan = msgs["scan"]
        ranges = np.asarray(scan.ranges, dtype=np.float64)
        angles = 2 * math.pi * np.arange(task.n_rays) / task.n_rays
        n = len(ranges)
        if n == 0 or scan.angle_increment == 0:
            raise MessageRejected("scan has no beams for the ring")
        idx = np.round(((angles - scan.angle_min + math.pi) % (2 * math.pi) - math.pi) / scan.angle_increment).astype(int) % n
        ring = ranges[idx]
        ring[~np.isfinite(ring) | (ring > task.ray_range_m)] = task.ray_range_m
        tw = odom.twist.twist
        return np.concatenate([(dist, *bearing, tw.linear.x, tw.angular.z, *self._last_action[:2]), np.minimum(ring, task.ray_range_m)])

    def _uav_state(self, msgs) -> np.ndarray:
        odom = msgs["odom"]
        p = odom.pose.pose.position
        rot = quat_to_mat(M.quaternion_wxyz(odom.pose.pose.orientation))
        tw = odom.twist.twist
        v_world = rot @ np.array([tw.linear.x, tw.linear.y, tw.linear.z])  # nav_msgs/Odometry twist is in the body frame
        return np.concatenate([self._goal - np.array([p.x, p.y, p.z]), rot.reshape(-1), v_world,
                               [tw.angular.x, tw.angular.y, tw.angular.z], self._last_action])

    # -- gymnasium API ----------------------------------------------------------------------
    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        super().reset(seed=seed)
        options = dict(options or {})
        key = {"nav": "goal_xy", "uav": "target"}.get(self.profile.family)
        goal = options.pop(key, None) if key else None
        if options:
            raise ValueError(f"unknown reset options {sorted(options)}; a {self.profile.family} RosEnv takes "
                             f"{[key] if key else 'none'}")
        if goal is not None:
            goal = np.asarray(goal, dtype=float)
            size = 2 if self.profile.family == "nav" else 3
            if goal.shape != (size,) or not np.isfinite(goal).all():
                raise ValueError(f"reset option goal must be {size} finite numbers, got {goal}")
            self._goal = np.r_[goal, 0.0][:3]
        self._steps = 0
        self._last_action = np.zeros(self.action_space.shape)
        self._wait_for_peer()
        since = time.perf_counter()
        self._send_stop()
        msgs = self._wait(since)
        if msgs is None:
            self.timeouts += 1
            raise RosTimeout(f"reset: no fresh {self._needed} within {self.timeout_s} s")
        self._last_obs = self._observation(msgs)
        if self._recorder is not None:
            self._recorder.reset(self._last_obs, time.time())
        return self._last_obs, {"stale": False}

    def step(self, action):
        if self._last_obs is None:
            raise gymnasium.error.ResetNeeded("call reset() before step()")
        a = np.asarray(action, dtype=np.float64)
        if a.shape != self.action_space.shape or not np.isfinite(a).all():
            raise ValueError(f"action must be finite with shape {self.action_space.shape}, got {a}")
        a = np.clip(a, self.action_space.low, self.action_space.high)
        try:
            since = time.perf_counter()
            t_sent = time.time()
            msg = self.profile.from_action(a, self.task, self._latest_inputs())
            cdr = self._command.publish(msg)
            self._last_action = a
            self._steps += 1
            if self._recorder is not None:
                self._recorder.write(self.topics["command"], self.profile.command_type, cdr, t_sent)
            msgs = self._wait(since)
            info: dict[str, Any] = {"stale": msgs is None}
            truncated = self.max_episode_steps is not None and self._steps >= self.max_episode_steps
            if msgs is None:
                self.timeouts += 1
                what = f"no fresh {self._needed} within {self.timeout_s} s after step {self._steps}'s command"
                if self.on_timeout == "raise":
                    raise RosTimeout(what)
                log.warning("%s: %s (timeout %d)", what, "ending the episode" if self.on_timeout == "truncate" else "returning the last observation", self.timeouts)
                truncated = truncated or self.on_timeout == "truncate"
                obs = self._last_obs
            else:
                obs = self._observation(msgs)
        except BaseException:
            self._send_stop()
            raise
        self._last_obs = obs
        reward = float(self.reward_fn(obs, a)) if self.reward_fn is not None else 0.0
        terminated = bool(self.terminated_fn(obs)) if self.terminated_fn is not None else False
        if self._recorder is not None:
            self._recorder.step(a, t_sent, obs, time.time(), reward, terminated, truncated)
        info["timeouts"] = self.timeouts
        return obs, reward, terminated, truncated, info

    def _wait_for_peer(self) -> None:
        """First reset: up to ``wait_for_peer_s`` for the robot's endpoints to be discovered and,
        when the stop command is made from them (Grasp holds the measured joints), the inputs."""
        deadline, self._wait_for_peer_s = time.perf_counter() + self._wait_for_peer_s, 0.0
        stop_needs_inputs = self.profile.stop is not None and self.profile.stop(self.task, {}) is None
        while time.perf_counter() < deadline:
            if (self._command.subscriber_count() != 0 and all(self.transport.publisher_count(self.topics[k]) != 0 for k in self._needed)
                    and not (stop_needs_inputs and any(k not in self._latest for k in self.profile.inputs))):
                return
            time.sleep(0.01)

    def _latest_inputs(self) -> dict[str, Any]:
        """The newest message of every topic the command needs (Drive: /odom; Grasp: /joint_states)."""
        with self._cond:
            return {key: self._latest[key][2] for key in self.profile.inputs if key in self._latest}

    def _send_stop(self) -> None:
        if self.profile.stop is not None and self._command is not None:
            try:
                stop = self.profile.stop(self.task, self._latest_inputs())
                if stop is not None:
                    self._command.publish(stop)
            except Exception:  # noqa: BLE001 - stopping must not mask the error that led here
                log.exception("could not publish the stop command")

    def close(self) -> None:
        if getattr(self, "_closed", True):
            return
        self._closed = True
        self._send_stop()
        time.sleep(0.05)  # let the stop command leave before the participant goes
        if self._owns_transport:
            self.transport.close()  # first: no receive callback runs after this
        if self._recorder is not None:
            self._recorder.close({"timeouts": self.timeouts, "rejected": self.rejected, "steps": self._steps})
            self._recorder = None
