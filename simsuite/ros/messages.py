"""ROS 2 messages as rosbags dataclasses: the one message model every transport speaks.

The message types and their CDR encoding come from ``rosbags`` (its ROS 2 Jazzy type
store), so SimSuite needs no ROS installation to build, encode, decode or record the
ordinary ROS messages. A transport turns these objects into CDR bytes (DDS, rclpy, bags)
or into ROS 1 messages (rospy); nothing here knows which.

Builders turn simulator readings into messages (SI units, REP-103 frames, quaternions
converted from SimSuite's (w, x, y, z) to ROS's (x, y, z, w) in :func:`quaternion`), and
:func:`check_finite` / :class:`MessageRejected` are the door every incoming message goes
through before it can become an action.
"""

from __future__ import annotations

import math
from functools import lru_cache
from typing import Any, Sequence

import numpy as np
from rosbags.typesys import Stores, get_types_from_msg, get_typestore

from simsuite.transforms import wxyz_to_xyzw

#: a motor command for multirotors: actuator_msgs/msg/Actuators from ROS 2 (ros-jazzy-actuator-msgs,
#: the message Gazebo's multicopter motor model takes); rosbags' store lacks it, so it is registered here
ACTUATORS_MSG = """\
std_msgs/Header header
float64[] position
float64[] velocity
float64[] normalized
"""


class MessageRejected(ValueError):
    """An incoming message that must not reach the physics; the text is the logged reason."""


@lru_cache(maxsize=1)
def typestore():
    """rosbags' ROS 2 Jazzy type store, with actuator_msgs/msg/Actuators added."""
    store = get_typestore(Stores.ROS2_JAZZY)
    store.register(get_types_from_msg(ACTUATORS_MSG, "actuator_msgs/msg/Actuators"))
    return store


def msg_class(msgtype: str):
    """The dataclass of a message type (``"sensor_msgs/msg/LaserScan"``)."""
    try:
        return typestore().types[msgtype]
    except KeyError:
        raise ValueError(f"unknown ROS 2 message type {msgtype!r}") from None


def serialize(msg: Any, msgtype: str | None = None) -> bytes:
    """CDR bytes (little endian, with the 4-byte encapsulation header), as DDS and rosbag2 carry them."""
    return bytes(typestore().serialize_cdr(msg, msgtype or msg.__msgtype__))


def deserialize(data: bytes | memoryview, msgtype: str) -> Any:
    return typestore().deserialize_cdr(data, msgtype)


# ---------------------------------------------------------------------------
# Small pieces


def stamp(t_s: float):
    """builtin_interfaces/Time for a time in seconds (≥ 0)."""
    ns = int(round(t_s * 1e9))
    sec, nanosec = divmod(ns, 1_000_000_000)
    return msg_class("builtin_interfaces/msg/Time")(sec=int(sec), nanosec=int(nanosec))


def to_seconds(time_msg) -> float:
    return time_msg.sec + time_msg.nanosec * 1e-9


def header(t_s: float, frame_id: str):
    return msg_class("std_msgs/msg/Header")(stamp=stamp(t_s), frame_id=frame_id)


def vector3(v: Sequence[float]):
    return msg_class("geometry_msgs/msg/Vector3")(x=float(v[0]), y=float(v[1]), z=float(v[2]))


def quaternion(q_wxyz: Sequence[float]):
    """geometry_msgs/Quaternion from SimSuite's scalar-first quaternion (the one conversion)."""
    x, y, z, w = wxyz_to_xyzw(q_wxyz)
    return msg_class("geometry_msgs/msg/Quaternion")(x=float(x), y=float(y), z=float(z), w=float(w))


def quaternion_wxyz(q) -> np.ndarray:
    """SimSuite's (w, x, y, z) from a geometry_msgs/Quaternion."""
    return np.array([q.w, q.x, q.y, q.z], dtype=float)


def pose(pos: Sequence[float], quat_wxyz: Sequence[float]):
    point = msg_class("geometry_msgs/msg/Point")(x=float(pos[0]), y=float(pos[1]), z=float(pos[2]))
    return msg_class("geometry_msgs/msg/Pose")(position=point, orientation=quaternion(quat_wxyz))


def transform(t_s: float, parent: str, child: str, pos: Sequence[float], quat_wxyz: Sequence[float]):
    tf = msg_class("geometry_msgs/msg/Transform")(translation=vector3(pos), rotation=quaternion(quat_wxyz))
    return msg_class("geometry_msgs/msg/TransformStamped")(header=header(t_s, parent), child_frame_id=child, transform=tf)


def f32(values) -> np.ndarray:
    return np.ascontiguousarray(values, dtype=np.float32).reshape(-1)


def f64(values) -> np.ndarray:
    return np.ascontiguousarray(values, dtype=np.float64).reshape(-1)


_EMPTY_F32 = np.zeros(0, np.float32)
_ZERO_COV = np.zeros(9)
_ZERO_COV36 = np.zeros(36)
_NO_ORIENTATION = np.r_[-1.0, np.zeros(8)]  # REP-145: covariance[0] = -1, "no orientation estimate"


# ---------------------------------------------------------------------------
# Simulator readings -> messages


def clock(t_s: float):
    return msg_class("rosgraph_msgs/msg/Clock")(clock=stamp(t_s))


def laser_scan(t_s: float, frame_id: str, ranges: np.ndarray, config, scan_time_s: float):
    """sensor_msgs/LaserScan from a planar LIDAR reading and its :class:`LidarConfig`; beams
    counter-clockwise from ``angle_min`` as the sensor orders them (from −π for 360°)."""
    az = config.azimuths_rad()
    increment = float(az[1] - az[0]) if len(az) > 1 else 0.0
    return msg_class("sensor_msgs/msg/LaserScan")(
        header=header(t_s, frame_id),
        angle_min=float(az[0]),
        angle_max=float(az[-1]),
        angle_increment=increment,
        time_increment=0.0,  # a snapshot: all beams at the stamp (see simsuite.sensors.lidar)
        scan_time=float(scan_time_s),
        range_min=float(config.range_min_m),
        range_max=float(config.range_max_m),
        ranges=f32(ranges),
        intensities=_EMPTY_F32,
    )


def point_cloud(t_s: float, frame_id: str, points: np.ndarray):
    """sensor_msgs/PointCloud2 with float32 x, y, z fields from an (N, 3) array (NaN rows kept)."""
    pts = np.ascontiguousarray(points, dtype=np.float32).reshape(-1, 3)
    field = msg_class("sensor_msgs/msg/PointField")
    fields = [field(name=n, offset=4 * i, datatype=7, count=1) for i, n in enumerate("xyz")]  # 7 = FLOAT32
    return msg_class("sensor_msgs/msg/PointCloud2")(
        header=header(t_s, frame_id), height=1, width=len(pts), fields=fields, is_bigendian=False,
        point_step=12, row_step=12 * len(pts), data=pts.view(np.uint8).reshape(-1), is_dense=bool(np.isfinite(pts).all()),
    )


def imu(t_s: float, frame_id: str, reading: np.ndarray):
    """sensor_msgs/Imu from SimSuite's IMU reading (specific force xyz, then body rates xyz);
    no orientation estimate (covariance[0] = −1 as REP-145 says)."""
    return msg_class("sensor_msgs/msg/Imu")(
        header=header(t_s, frame_id),
        orientation=msg_class("geometry_msgs/msg/Quaternion")(x=0.0, y=0.0, z=0.0, w=1.0),
        orientation_covariance=_NO_ORIENTATION,
        angular_velocity=vector3(reading[3:6]),
        angular_velocity_covariance=_ZERO_COV,
        linear_acceleration=vector3(reading[0:3]),
        linear_acceleration_covariance=_ZERO_COV,
    )


def odometry(t_s: float, frame_id: str, child: str, pos, quat_wxyz, lin_body, ang_body):
    """nav_msgs/Odometry: pose in ``frame_id``, twist in the body frame ``child`` (REP-105)."""
    twist = msg_class("geometry_msgs/msg/Twist")(linear=vector3(lin_body), angular=vector3(ang_body))
    return msg_class("nav_msgs/msg/Odometry")(
        header=header(t_s, frame_id),
        child_frame_id=child,
        pose=msg_class("geometry_msgs/msg/PoseWithCovariance")(pose=pose(pos, quat_wxyz), covariance=_ZERO_COV36),
        twist=msg_class("geometry_msgs/msg/TwistWithCovariance")(twist=twist, covariance=_ZERO_COV36),
    )


def joint_state(t_s: float, names: Sequence[str], position, velocity):
    return msg_class("sensor_msgs/msg/JointState")(
        header=header(t_s, ""), name=list(names), position=f64(position), velocity=f64(velocity), effort=np.zeros(0),
    )


def tf_message(transforms: list):
    return msg_class("tf2_msgs/msg/TFMessage")(transforms=transforms)


def image(t_s: float, frame_id: str, pixels: np.ndarray):
    """sensor_msgs/Image: (H, W, 3) uint8 as ``rgb8``, (H, W) float32 metres as ``32FC1``."""
    height, width = pixels.shape[:2]
    if pixels.dtype == np.uint8 and pixels.ndim == 3 and pixels.shape[2] == 3:
        encoding, step = "rgb8", 3 * width
    elif pixels.dtype == np.float32 and pixels.ndim == 2:
        encoding, step = "32FC1", 4 * width
    else:
        raise ValueError(f"image must be (H, W, 3) uint8 or (H, W) float32, got {pixels.shape} {pixels.dtype}")
    data = np.ascontiguousarray(pixels).view(np.uint8).reshape(-1)
    return msg_class("sensor_msgs/msg/Image")(
        header=header(t_s, frame_id), height=height, width=width, encoding=encoding, is_bigendian=0, step=step, data=data,
    )


def camera_info(t_s: float, frame_id: str, width: int, height: int, fovy_deg: float):
    """sensor_msgs/CameraInfo of an ideal pinhole camera (no distortion) with vertical field of view ``fovy_deg``."""
    fy = 0.5 * height / math.tan(math.radians(fovy_deg) / 2)
    fx, cx, cy = fy, (width - 1) / 2, (height - 1) / 2
    k = np.array([fx, 0, cx, 0, fy, cy, 0, 0, 1], float)
    p = np.array([fx, 0, cx, 0, 0, fy, cy, 0, 0, 0, 1, 0], float)
    roi = msg_class("sensor_msgs/msg/RegionOfInterest")(x_offset=0, y_offset=0, height=0, width=0, do_rectify=False)
    return msg_class("sensor_msgs/msg/CameraInfo")(
        header=header(t_s, frame_id), height=height, width=width, distortion_model="plumb_bob", d=np.zeros(5), k=k,
        r=np.eye(3).reshape(-1), p=p, binning_x=0, binning_y=0, roi=roi,
    )


def float_array(values, labels: Sequence[str] = (), sizes: Sequence[int] = ()):
    """std_msgs/Float64MultiArray; ``labels``/``sizes`` name consecutive blocks (a Dict observation's keys)."""
    dim = msg_class("std_msgs/msg/MultiArrayDimension")
    dims = [dim(label=str(label), size=int(size), stride=int(size)) for label, size in zip(labels, sizes)]
    layout = msg_class("std_msgs/msg/MultiArrayLayout")(dim=dims, data_offset=0)
    return msg_class("std_msgs/msg/Float64MultiArray")(layout=layout, data=f64(values))


def string(text: str):
    return msg_class("std_msgs/msg/String")(data=text)


# ---------------------------------------------------------------------------
# Incoming messages: checked at the door


def check_type(msg: Any, msgtype: str) -> None:
    got = getattr(msg, "__msgtype__", type(msg).__name__)
    if got != msgtype:
        raise MessageRejected(f"expected {msgtype}, got {got}")


def check_finite(name: str, values) -> np.ndarray:
    """The values as a float array, or :class:`MessageRejected` naming the field if any is NaN or inf."""
    a = np.asarray(values, dtype=np.float64)
    if not np.isfinite(a).all():
        raise MessageRejected(f"{name} contains NaN or inf: {np.array2string(a, precision=4)}")
    return a


def check_length(name: str, values, expected: int) -> np.ndarray:
    a = np.asarray(values)
    if a.shape != (expected,):
        raise MessageRejected(f"{name} must have {expected} entries, got {a.size}")
    return a
