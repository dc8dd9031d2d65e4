"""Presets for real sensor units, and :func:`make_sensor`, the one way tasks build sensors.

Datasheet numbers are cited next to each value. Where a datasheet quotes an accuracy
without saying how many sigmas it is, it is taken as 1σ (the noisier reading, the safer
for sim-to-real). Values marked "assumed" are not on the datasheet; change them when
you measure the part.

Spec forms accepted by :func:`make_sensor`::

    make_sensor("vlp16", body="base", pos=(0, 0, 0.3))       # preset name + mount keywords
    make_sensor({"preset": "rplidar_a1", "body": "base", "pos": (0, 0, 0.18)})
    make_sensor({"type": "lidar", "channels": 4, "vertical_fov_deg": (-5, 5), "body": "car"})
    make_sensor({"preset": "bmi088", "noise": False, "rate_hz": 500, "site": "imu_site"})

Keyword arguments are defaults (a task's default mount); keys in the spec win.
"""

from __future__ import annotations

import math
from typing import Any, Mapping

from simsuite.sensors.base import Mount, Sensor, SensorError
from simsuite.sensors.imu import Imu, ImuConfig
from simsuite.sensors.lidar import Lidar, LidarConfig

G0 = 9.80665  # standard gravity [m/s²], for datasheet g and µg figures
DEG = math.pi / 180.0

#: preset name -> (sensor type, config fields)
PRESETS: dict[str, tuple[str, dict[str, Any]]] = {
    # Slamtec RPLIDAR A1M8 datasheet (rev. 2.x): range 0.15-12 m, scan rate 5.5 Hz typical
    # (2-10 Hz), angular resolution <= 1°, accuracy 1 % of range up to 3 m (2-2.5 % beyond).
    "rplidar_a1": (
        "lidar",
        dict(
            rate_hz=5.5,
            channels=1,
            horizontal_samples=360,  # 1° (the unit gives ~1450 samples/rev at 8 kHz; 360 is the common /scan)
            range_min_m=0.15,
            range_max_m=12.0,
            range_noise_rel=0.01,  # "1 % of range"
            dropout_prob=0.005,  # assumed: missing returns on dark or grazing surfaces
        ),
    ),
    # Velodyne VLP-16 (Puck) datasheet: 16 channels, ±15° vertical (2° apart), 5-20 Hz,
    # horizontal resolution 0.1-0.4° (0.2° at 10 Hz), range up to 100 m, accuracy ±3 cm (typical).
    "vlp16": (
        "lidar",
        dict(
            rate_hz=10.0,
            channels=16,
            vertical_fov_deg=(-15.0, 15.0),
            horizontal_samples=1800,  # 0.2° at 10 Hz
            range_min_m=0.5,  # assumed (near-field blind zone)
            range_max_m=100.0,
            range_noise_std_m=0.03,  # ±3 cm
        ),
    ),
    # Velodyne HDL-64E S3 datasheet: 64 channels over +2.0° to -24.9°, 5-20 Hz, horizontal
    # resolution 0.08-0.35°, range 120 m, accuracy < 2 cm (1σ). The real unit spaces its upper
    # and lower blocks differently (1/3° and 1/2°); here the 64 channels are evenly spread.
    "hdl64": (
        "lidar",
        dict(
            rate_hz=10.0,
            channels=64,
            vertical_fov_deg=(-24.9, 2.0),
            horizontal_samples=2048,  # ~0.18° at 10 Hz
            range_min_m=0.9,  # assumed
            range_max_m=120.0,
            range_noise_std_m=0.02,
        ),
    ),
    # Bosch BMI088 (BST-BMI088-DS001), as on the Crazyflie 2.1, whose firmware reads it at
    # 1 kHz with the gyro at ±2000 °/s and the accelerometer at ±24 g.
    "bmi088": (
        "imu",
        dict(
            rate_hz=1000.0,
            gyro_range=2000.0 * DEG,
            gyro_noise_density=0.014 * DEG,  # 0.014 °/s/√Hz
            gyro_bias_instability=2.0 * DEG / 3600.0,  # bias stability 2 °/h
            gyro_bias_corr_time_s=1000.0,  # assumed (puts the Allan floor near 30 min)
            gyro_random_walk=0.0,  # not specified
            gyro_turn_on_bias=1.0 * DEG,  # zero-rate offset ±1 °/s (typ)
            gyro_scale_factor=0.01,  # sensitivity tolerance ±1 % (typ)
            accel_range=24.0 * G0,
            accel_noise_density=175e-6 * G0,  # 175 µg/√Hz
            accel_bias_instability=40e-6 * G0,  # assumed: not specified for this part
            accel_bias_corr_time_s=100.0,  # assumed
            accel_random_walk=0.0,  # not specified
            accel_turn_on_bias=20e-3 * G0,  # zero-g offset ±20 mg (typ)
            accel_scale_factor=0.005,  # assumed (sensitivity tolerance)
        ),
    ),
}

_KINDS = {"lidar": (Lidar, LidarConfig), "imu": (Imu, ImuConfig)}
_MOUNT_KEYS = ("body", "site", "pos", "quat")
_META_KEYS = ("type", "preset", "name")


def preset_config(name: str) -> LidarConfig | ImuConfig:
    """The config of a preset, e.g. ``preset_config("vlp16").channels == 16``."""
    if name not in PRESETS:
        raise SensorError(f"unknown sensor preset {name!r}; presets are {sorted(PRESETS)}")
    kind, values = PRESETS[name]
    return _KINDS[kind][1](**values)


def make_sensor(spec: str | Mapping[str, Any], **defaults: Any) -> Sensor:
    """A sensor from a preset name or a dict spec (see the module docstring).

    Keys: ``type`` ("lidar" | "imu"; implied by a preset), ``preset``, ``name`` (default:
    the type), the mount (``body`` or ``site``, ``pos``, ``quat``) and any config field of
    that type, overriding the preset. Unknown presets, types or keys raise
    :class:`~simsuite.sensors.base.SensorError` (a ValueError) naming them and the allowed values.
    """
    if isinstance(spec, str):
        spec = {"preset": spec}
    elif not isinstance(spec, Mapping):
        raise SensorError(f"a sensor spec is a preset name or a dict, got {type(spec).__name__}")
    if "body" in spec or "site" in spec:  # the spec's own mount replaces the default one
        defaults = {k: v for k, v in defaults.items() if k not in ("body", "site")}
    merged = {**defaults, **spec}
    preset = merged.pop("preset", None)
    kind = merged.pop("type", None)
    if preset is not None:
        if preset not in PRESETS:
            raise SensorError(f"unknown sensor preset {preset!r}; presets are {sorted(PRESETS)}")
        preset_kind, values = PRESETS[preset]
        if kind is not None and kind != preset_kind:
            raise SensorError(f"sensor 'type' {kind!r} does not match preset {preset!r}, which is a {preset_kind}")
        kind = preset_kind
    else:
        values = {}
    if kind not in _KINDS:
        raise SensorError(f"sensor 'type' must be one of {sorted(_KINDS)} (or give a 'preset'), got {kind!r}")
    sensor_cls, config_cls = _KINDS[kind]
    name = merged.pop("name", kind)
    if not isinstance(name, str) or not name:
        raise SensorError(f"sensor 'name' must be a non-empty string, got {name!r}")
    mount = {k: merged.pop(k) for k in _MOUNT_KEYS if k in merged}
    allowed = config_cls.field_names()
    unknown = sorted(k for k in merged if k not in allowed)
    if unknown:
        keys = sorted(set(allowed) | set(_MOUNT_KEYS) | set(_META_KEYS))
        raise SensorError(f"unknown {kind} sensor field(s) {unknown}; allowed: {keys}")
    fields = {**values, **{k: tuple(v) if isinstance(v, list) else v for k, v in merged.items()}}
    try:
        config = config_cls(**fields)
    except SensorError as exc:
        raise SensorError(f"sensor {name!r}: {exc}") from None
    if "body" not in mount and "site" not in mount:
        raise SensorError(f"sensor {name!r} needs a mount: give 'body' (or 'site'), plus optional 'pos' and 'quat'")
    try:
        pos = tuple(float(v) for v in mount.get("pos", (0.0, 0.0, 0.0)))
        quat = tuple(float(v) for v in mount.get("quat", (1.0, 0.0, 0.0, 0.0)))
    except (TypeError, ValueError):
        raise SensorError(f"sensor {name!r}: mount 'pos' and 'quat' must be sequences of numbers, got {mount.get('pos')!r}, {mount.get('quat')!r}") from None
    return sensor_cls(name, config, Mount(body=mount.get("body"), site=mount.get("site"), pos=pos, quat=quat))
