"""Sensors: LIDAR and IMU models that read physics through the backend protocol.

- :class:`Sensor`: the contract (name, rate_hz, latency_s, observation_space, reset, sample).
- :class:`SensorSuite`: samples sensors at their own rates while stepping the backend,
  and delivers each reading after its latency.
- :func:`make_sensor`: a sensor from a preset name (:data:`PRESETS`) or a dict spec.
- :class:`Lidar` / :class:`LidarConfig`, :class:`Imu` / :class:`ImuConfig`: the models.
"""

from simsuite.sensors.base import Mount, Sensor, SensorError, SensorSuite
from simsuite.sensors.imu import ACCEL, GYRO, Imu, ImuConfig, ImuNoise, allan_deviation
from simsuite.sensors.lidar import Lidar, LidarConfig, LidarScan
from simsuite.sensors.presets import PRESETS, make_sensor, preset_config

__all__ = [
    "ACCEL",
    "GYRO",
    "PRESETS",
    "Imu",
    "ImuConfig",
    "ImuNoise",
    "Lidar",
    "LidarConfig",
    "LidarScan",
    "Mount",
    "Sensor",
    "SensorError",
    "SensorSuite",
    "allan_deviation",
    "make_sensor",
    "preset_config",
]
