"""The lockstep controller's known command sequence, shared by the rclpy node and the replay."""

import math


def command(k: int) -> tuple[float, float]:
    """The k-th answer: forward speed [m/s] and yaw rate [rad/s]."""
    return 0.15, 0.8 * math.sin(0.05 * k)
