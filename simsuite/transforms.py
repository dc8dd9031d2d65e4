"""Quaternion helpers. SimSuite quaternions are scalar-first (w, x, y, z); PyBullet's and
ROS's (x, y, z, w) are converted at their boundaries with the two helpers here."""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np


def wxyz_to_xyzw(q: Sequence[float]) -> tuple[float, float, float, float]:
    return (float(q[1]), float(q[2]), float(q[3]), float(q[0]))


def xyzw_to_wxyz(q: Sequence[float]) -> tuple[float, float, float, float]:
    return (float(q[3]), float(q[0]), float(q[1]), float(q[2]))


def quat_mul(a: Sequence[float], b: Sequence[float]) -> np.ndarray:
    """Hamilton product a ⊗ b (apply b, then a)."""
    return np.array(_quat_mul_floats(a, b))


def quat_conj(q: Sequence[float]) -> np.ndarray:
    return np.array([q[0], -q[1], -q[2], -q[3]], dtype=float)


def quat_to_mat(q: Sequence[float]) -> np.ndarray:
    """Rotation matrix of a scalar-first unit quaternion (built flat: a nested list costs more)."""
    w, x, y, z = q
    return np.array(
        [
            1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y),
            2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x),
            2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y),
        ]
    ).reshape(3, 3)


def mat_to_quat(r: np.ndarray) -> tuple[float, float, float, float]:
    """Scalar-first unit quaternion of a rotation matrix, with w >= 0."""
    t = np.trace(r)
    if t > 0:
        s = math.sqrt(t + 1.0) * 2
        q = np.array([0.25 * s, (r[2, 1] - r[1, 2]) / s, (r[0, 2] - r[2, 0]) / s, (r[1, 0] - r[0, 1]) / s])
    else:
        i = int(np.argmax(np.diag(r)))
        j, k = (i + 1) % 3, (i + 2) % 3
        s = math.sqrt(1.0 + r[i, i] - r[j, j] - r[k, k]) * 2
        q = np.zeros(4)
        q[1 + i] = 0.25 * s
        q[1 + j] = (r[j, i] + r[i, j]) / s
        q[1 + k] = (r[k, i] + r[i, k]) / s
        q[0] = (r[k, j] - r[j, k]) / s
    q /= np.linalg.norm(q)
    if q[0] < 0:
        q = -q
    return (float(q[0]), float(q[1]), float(q[2]), float(q[3]))


def quat_from_axis_angle(axis: Sequence[float], angle_rad: float) -> tuple[float, float, float, float]:
    a = np.asarray(axis, dtype=float)
    a = a / np.linalg.norm(a)
    s = math.sin(angle_rad / 2)
    return (math.cos(angle_rad / 2), float(a[0] * s), float(a[1] * s), float(a[2] * s))


def quat_from_euler(roll: float, pitch: float, yaw: float) -> tuple[float, float, float, float]:
    """Quaternion of extrinsic x-y-z (= intrinsic z-y'-x'') roll, pitch, yaw [rad], as URDF's rpy:
    q_z(yaw) ⊗ q_y(pitch) ⊗ q_x(roll), in plain floats (resets call it; numpy's per-call cost
    was most of its time), with the same operations as the axis-angle products, so the same bits."""
    hr, hp, hy = roll / 2, pitch / 2, yaw / 2
    sr, sp, sy = math.sin(hr), math.sin(hp), math.sin(hy)
    q_x = (math.cos(hr), 1.0 * sr, 0.0 * sr, 0.0 * sr)
    q_y = (math.cos(hp), 0.0 * sp, 1.0 * sp, 0.0 * sp)
    q_z = (math.cos(hy), 0.0 * sy, 0.0 * sy, 1.0 * sy)
    return _quat_mul_floats(q_z, _quat_mul_floats(q_y, q_x))


def _quat_mul_floats(a: Sequence[float], b: Sequence[float]) -> tuple[float, float, float, float]:
    """The Hamilton product a ⊗ b as a tuple (:func:`quat_mul` wraps it in an array)."""
    aw, ax, ay, az = a
    bw, bx, by, bz = b
    return (aw * bw - ax * bx - ay * by - az * bz, aw * bx + ax * bw + ay * bz - az * by,
            aw * by - ax * bz + ay * bw + az * bx, aw * bz + ax * by - ay * bx + az * bw)


def rotate(q: Sequence[float], v: Sequence[float]) -> np.ndarray:
    """Rotate vector(s) ``v`` (3,) or (N, 3) by quaternion ``q``."""
    return np.asarray(v, dtype=float) @ quat_to_mat(q).T


def yaw_of(q: Sequence[float]) -> float:
    """Heading angle about world z [rad] of a scalar-first quaternion."""
    w, x, y, z = q
    return math.atan2(2 * (w * z + x * y), 1 - 2 * (y * y + z * z))
