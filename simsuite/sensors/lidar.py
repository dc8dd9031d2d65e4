"""LIDAR: planar or multi-channel range scans from one batched ray cast per scan.

Geometry. Beam directions are computed once, in the sensor frame (x forward, y left,
z up, REP-103): channel ``c`` at elevation ``elevations_deg[c]`` (ascending; by default
``channels`` angles evenly spread over ``vertical_fov_deg``), and horizontal sample ``i``
at azimuth ``-fov/2 + i·fov/N`` for a full 360° circle (beam ``N/2`` looks along +x; the
first looks backwards, as ROS ``LaserScan`` from -π) or ``-fov/2 + i·fov/(N-1)`` for a
partial field of view (both edges included). At reset the mount rotation is folded in and
the beams become the backend's ray fan (``Backend.ray_fan``), so a scan costs one pose read,
one engine ray call from the shared sensor origin (the backend places the beams: a small
product, or the engine's own frame option) and one pass for noise and limits over the
engine's own distances (``native.kernels.lidar_readings``, or four or five whole-array numpy
operations where the C kernels are not built; no per-beam Python, no conversion pass).

A scan is a snapshot at the sample instant: a real spinning unit sweeps its beams over
``1 / rate_hz`` and smears fast motion; that distortion is not modelled.

Readings (float32, shape ``(horizontal_samples,)`` for one channel, else
``(channels, horizontal_samples)``, channel 0 lowest):
- a return at true distance ``d`` in ``[range_min_m, range_max_m]`` reads
  ``clip(d + σ(d)·ξ, range_min_m, range_max_m)``, ξ ~ N(0, 1) per beam and scan, with
  ``σ(d) = range_noise_std_m + range_noise_rel·d``;
- no return (nothing within ``range_max_m``, a hit closer than ``range_min_m``, or a beam
  dropped with probability ``dropout_prob``) reads ``no_return``: ``"max"`` (range_max_m,
  the default, common in RL), ``"inf"`` (ROS REP-117) or ``"zero"``.

Labels: :attr:`Lidar.last_scan` keeps the engine's answer for the last scan and derives the
true distances and the hit bodies from it when they are read, so a scan whose labels are
never read pays nothing for them; hit names and semantic classes come from index tables
built at reset, so labels cost one or two array lookups, no per-ray Python.

Mount it outside the robot's own collision geoms (as real units sit on top): the backend
protocol has no "ignore this body" option for rays.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from typing import Literal

import gymnasium
import numpy as np

from simsuite import native
from simsuite.backends.base import Backend, RayHits
from simsuite.sensors.base import Mount, ResolvedMount, Sensor, SensorError, check_timing, child_rng
from simsuite.transforms import quat_to_mat

NO_RETURN = ("max", "inf", "zero")


@dataclass(frozen=True)
class LidarConfig:
    """Everything that defines a LIDAR model; presets are instances of this (see presets.py)."""

    rate_hz: float | None = 10.0  # scan rate; None = one scan per control step
    latency_s: float = 0.0
    channels: int = 1
    vertical_fov_deg: tuple[float, float] = (0.0, 0.0)  # (lowest, highest) elevation
    elevations_deg: tuple[float, ...] | None = None  # explicit channel elevations (replace the two above)
    horizontal_samples: int = 360
    horizontal_fov_deg: float = 360.0  # centred on +x
    range_min_m: float = 0.15
    range_max_m: float = 12.0
    range_noise_std_m: float = 0.0  # 1σ, constant part
    range_noise_rel: float = 0.0  # 1σ as a fraction of the distance
    dropout_prob: float = 0.0  # per beam and scan
    no_return: Literal["max", "inf", "zero"] = "max"
    noise: bool = True  # False: exact ranges (noise and dropout off, limits kept)

    def __post_init__(self) -> None:
        check_timing("lidar", self.rate_hz, self.latency_s)
        if self.elevations_deg is not None:
            elev = tuple(float(e) for e in self.elevations_deg)
            if not elev or any(not -90.0 < e < 90.0 for e in elev):
                raise SensorError(f"lidar 'elevations_deg' must be a non-empty list of angles in (-90, 90), got {self.elevations_deg!r}")
            object.__setattr__(self, "elevations_deg", tuple(sorted(elev)))
            object.__setattr__(self, "channels", len(elev))
        if not isinstance(self.channels, (int, np.integer)) or self.channels < 1:
            raise SensorError(f"lidar 'channels' must be an integer >= 1, got {self.channels!r}")
        lo, hi = self.vertical_fov_deg
        if not (-90.0 < lo <= hi < 90.0):
            raise SensorError(f"lidar 'vertical_fov_deg' must be (lowest, highest) within (-90, 90), got {self.vertical_fov_deg!r}")
        if self.elevations_deg is None and self.channels > 1 and lo == hi:
            raise SensorError("lidar 'vertical_fov_deg' must span a range when channels > 1 (or give 'elevations_deg')")
        if not isinstance(self.horizontal_samples, (int, np.integer)) or self.horizontal_samples < 1:
            raise SensorError(f"lidar 'horizontal_samples' must be an integer >= 1, got {self.horizontal_samples!r}")
        if not 0.0 < self.horizontal_fov_deg <= 360.0:
            raise SensorError(f"lidar 'horizontal_fov_deg' must be in (0, 360], got {self.horizontal_fov_deg!r}")
        if not (0.0 <= self.range_min_m < self.range_max_m < math.inf):
            raise SensorError(f"lidar needs 0 <= 'range_min_m' < 'range_max_m' < inf, got {self.range_min_m!r}, {self.range_max_m!r}")
        if self.range_noise_std_m < 0 or self.range_noise_rel < 0:
            raise SensorError("lidar 'range_noise_std_m' and 'range_noise_rel' must be >= 0")
        if not 0.0 <= self.dropout_prob < 1.0:
            raise SensorError(f"lidar 'dropout_prob' must be in [0, 1), got {self.dropout_prob!r}")
        if self.no_return not in NO_RETURN:
            raise SensorError(f"lidar 'no_return' must be one of {NO_RETURN}, got {self.no_return!r}")

    # -- geometry ----------------------------------------------------------------
    def elevations_rad(self) -> np.ndarray:
        if self.elevations_deg is not None:
            return np.radians(np.asarray(self.elevations_deg, dtype=float))
        lo, hi = self.vertical_fov_deg
        return np.radians(np.linspace(lo, hi, self.channels) if self.channels > 1 else np.array([0.5 * (lo + hi)]))

    def azimuths_rad(self) -> np.ndarray:
        n, fov = self.horizontal_samples, math.radians(self.horizontal_fov_deg)
        if self.horizontal_fov_deg >= 360.0:
            return -math.pi + np.arange(n) * (2 * math.pi / n)
        return -fov / 2 + np.arange(n) * (fov / (n - 1)) if n > 1 else np.zeros(1)

    def directions(self) -> np.ndarray:
        """Unit beam directions in the sensor frame, (channels · horizontal_samples, 3), channel-major."""
        elev, az = np.meshgrid(self.elevations_rad(), self.azimuths_rad(), indexing="ij")
        d = np.stack([np.cos(elev) * np.cos(az), np.cos(elev) * np.sin(az), np.sin(elev)], axis=-1)
        return np.ascontiguousarray(d.reshape(-1, 3))

    @property
    def shape(self) -> tuple[int, ...]:
        return (self.horizontal_samples,) if self.channels == 1 else (self.channels, self.horizontal_samples)

    @classmethod
    def field_names(cls) -> tuple[str, ...]:
        return tuple(f.name for f in fields(cls))


class LidarScan:
    """The last scan with its ground truth; the truth and labels are derived on request."""

    __slots__ = ("t_s", "ranges", "_drop_row", "_hits", "_lidar")

    def __init__(self, t_s: float, ranges: np.ndarray, hits: RayHits, drop_row: np.ndarray | None, lidar: "Lidar"):
        self.t_s = t_s
        self.ranges = ranges  # the reading (noisy), float32, the sensor's shape
        self._drop_row = drop_row  # the scan's noise row that is NaN at dropped beams, or None
        self._hits, self._lidar = hits, lidar

    @property
    def dropped(self) -> np.ndarray | None:
        """Flat indices of the beams dropped by noise; None when dropout is off."""
        return None if self._drop_row is None else np.flatnonzero(np.isnan(self._drop_row))

    @property
    def distance_m(self) -> np.ndarray:
        """True distances, float64, flat; inf where nothing was hit within range_max_m."""
        return self._hits.distance_m

    @property
    def body_index(self) -> np.ndarray:
        """Hit body per beam, flat, index into the backend's body_names; -1 = none."""
        return self._hits.body_index

    @property
    def valid(self) -> np.ndarray:
        """Beams with a return (in range and not dropped), in the sensor's shape."""
        cfg = self._lidar.config
        ok = (self.distance_m >= cfg.range_min_m) & np.isfinite(self.distance_m)
        if self._drop_row is not None:
            ok &= ~np.isnan(self._drop_row)
        return ok.reshape(cfg.shape)

    def points(self, valid_only: bool = True) -> np.ndarray:
        """Returns as points in the sensor frame, (M, 3) float32 from the (noisy) ranges; with
        ``valid_only=False``, one row per beam (channel-major) and NaN rows where no return."""
        r = self.ranges.reshape(-1).astype(np.float32)
        pts = self._lidar.directions_sensor.astype(np.float32) * r[:, None]
        valid = self.valid.reshape(-1)
        if valid_only:
            return pts[valid]
        pts[~valid] = np.nan
        return pts

    @property
    def labels(self) -> np.ndarray:
        """Semantic class id per beam (index into ``Lidar.classes``; -1 = no hit), sensor's shape."""
        return self._lidar._class_of_index.take(self.body_index).reshape(self._lidar.config.shape)  # -1 takes the last row

    def hit_names(self) -> np.ndarray:
        """Hit body name per beam (object array, None = no hit), in the sensor's shape."""
        return self._lidar._name_of_index[self.body_index].reshape(self._lidar.config.shape)


class Lidar(Sensor):
    """A LIDAR on a mount; see the module docstring for geometry, noise and outputs."""

    TUNABLE = ("range_noise_std_m", "range_noise_rel", "dropout_prob")

    def __init__(self, name: str, config: LidarConfig, mount: Mount):
        self.name, self.config, self.mount = name, config, mount
        self.rate_hz, self.latency_s = config.rate_hz, config.latency_s
        self.directions_sensor = config.directions()
        self._n = len(self.directions_sensor)
        self._no_return = {"max": config.range_max_m, "inf": math.inf, "zero": 0.0}[config.no_return]
        self._noisy = config.noise and (config.range_noise_std_m > 0 or config.range_noise_rel > 0)
        self._dropout = config.dropout_prob if config.noise else 0.0
        self._std, self._rel = np.float32(config.range_noise_std_m), np.float32(config.range_noise_rel)
        self._rmin, self._rmax = np.float32(config.range_min_m), np.float32(config.range_max_m)
        self._range_min_m, self._range_max_m = config.range_min_m, config.range_max_m
        self._no_return_other = config.no_return != "max"  # "max": the clip writes no_return itself
        self._reshape = config.channels > 1
        self._resolved: ResolvedMount | None = None
        self.classes: tuple[str, ...] = ()
        self._last: tuple | None = None  # (t_s, readings, hits, drop_row) of the last scan
        self._last_scan: LidarScan | None = None
        low = 0.0 if config.no_return == "zero" else config.range_min_m
        high = math.inf if config.no_return == "inf" else config.range_max_m
        self._space = gymnasium.spaces.Box(np.float32(low), np.float32(high), config.shape, np.float32)

    @property
    def observation_space(self) -> gymnasium.spaces.Box:
        return self._space

    def reset(self, backend: Backend, rng: np.random.Generator) -> None:
        m = self._resolved = self.mount.resolve(backend)
        self._body, self._offset = m.body, m.pos
        # the beams as a ray fan on the mount's body (mount rotation folded in): the backend
        # checks and looks everything up once, and each scan is one pose read, one small
        # product and one engine call
        self._fan = backend.ray_fan(m.body, self.directions_sensor @ m.rot.T, m.pos, self.config.range_max_m)
        self._rng = child_rng(rng)
        self._block_left = 0  # scans left in the pre-drawn noise block
        self._noise_on = bool(self._noisy or self._dropout)
        self._kernel = native.kernels.lidar_readings if native.kernels is not None else None
        # label tables indexed by RayHits.body_index; the extra last row serves index -1
        names = backend.body_names
        classes = {b.name: b.semantic_class for b, _, _ in backend.scene.walk()}
        self.classes = tuple(sorted({classes.get(n, "object") for n in names}))
        class_id = {c: i for i, c in enumerate(self.classes)}
        self._class_of_index = np.array([class_id[classes.get(n, "object")] for n in names] + [-1], dtype=np.int16)
        self._name_of_index = np.array(list(names) + [None], dtype=object)
        self._last = self._last_scan = None

    def sensor_pose(self, backend: Backend) -> tuple[np.ndarray, np.ndarray]:
        """World position and rotation matrix of the sensor frame now."""
        pos, quat = backend.body_pose(self._body)
        rot = quat_to_mat(quat.tolist())
        return pos + rot @ self._offset, rot @ self._resolved.rot

    def sample(self, backend: Backend, t_s: float) -> np.ndarray:
        hits = self._fan.cast()
        raw = hits.raw_distance_m  # a miss reads < 0, > range_max_m (the fan's range) or NaN
        gain = shift = drop_row = None
        if self._noise_on:
            k = self._block_left - 1
            if k < 0:
                self._draw_block()
                k = self._block_left - 1
            self._block_left = k
            gain, shift = self._gain[k], self._shift[k]
            if self._dropout:
                drop_row = gain if gain is not None else shift
        if self._kernel is not None:  # the C twin of _readings, in one pass
            r = np.empty(self._n, np.float32)
            self._kernel(raw, gain, shift, r, self._range_min_m, self._range_max_m, self._no_return)
        else:
            r = self._readings(raw, gain, shift, drop_row)
        if self._reshape:
            r = r.reshape(self.config.shape)
        self._last = (t_s, r, hits, drop_row)  # last_scan wraps it when read
        return r

    @property
    def last_scan(self) -> LidarScan | None:
        """The last scan with its ground truth and labels (None before the first scan)."""
        last = self._last
        if last is None:
            return None
        if self._last_scan is None or self._last_scan.ranges is not last[1]:
            self._last_scan = LidarScan(*last, self)
        return self._last_scan

    def _readings(self, raw: np.ndarray, gain: np.ndarray | None, shift: np.ndarray | None, drop_row: np.ndarray | None) -> np.ndarray:
        """The readings (flat float32) from the engine's distances and this scan's noise rows:
        ``clip(f32(d)·gain + shift, range_min_m, range_max_m)`` for a return, ``no_return``
        for a miss, a hit out of range or a dropped beam (its noise is NaN)."""
        if gain is None and shift is None:  # exact: the float32 cast in the clip's first pass
            r = np.fmin(raw, self._rmax, dtype=np.float32)
        else:
            r = np.multiply(raw, gain, dtype=np.float32) if gain is not None else np.add(raw, shift, dtype=np.float32)
            if gain is not None and shift is not None:
                r += shift
            np.fmin(r, self._rmax, out=r)  # a dropped beam's NaN goes to range_max_m here
            if not self._no_return_other and np.fmax.reduce(raw) > self._range_max_m:
                # a hit the engine reports beyond range (MuJoCo's cutoff culls geoms, not
                # hits) whose noise brought it below range_max_m is still no return
                np.putmask(r, raw > self._range_max_m, self._no_return)
        np.fmax(r, self._rmin, out=r)
        # misses (< 0) and hits closer than range_min_m read no_return; with "max" the clip
        # already sent misses marked NaN, hits beyond range and dropped beams there
        np.putmask(r, raw < self._range_min_m, self._no_return)
        if self._no_return_other:
            np.putmask(r, ~(raw <= self._range_max_m), self._no_return)
            if drop_row is not None:
                np.putmask(r, np.isnan(drop_row), self._no_return)
        return r

    def _draw_block(self) -> None:
        """Noise for the next few scans (about 65k beams) in two generator calls, so that a
        small scan does not pay the generator's per-call cost every time. The draws come in
        a fixed order from the sensor's own generator: reproducible from the seed. Stored as
        per-scan rows of the reading's gain 1 + rel·ξ (floored at 0: a reading that would be
        negative is clipped to range_min_m either way) and shift std·ξ (None where that term
        is off); dropped beams get NaN in the first of them."""
        cfg, n = self.config, self._n
        scans = max(1, _BLOCK_BEAMS // n)
        gain = shift = None
        if self._noisy:
            z = self._rng.standard_normal((scans, n), dtype=np.float32)
            if cfg.range_noise_std_m > 0:
                shift = z * self._std
            if cfg.range_noise_rel > 0:  # in place: z is not needed after this
                gain = np.maximum(np.add(np.multiply(z, self._rel, out=z), 1, out=z), 0, out=z)
        if self._dropout:  # NaN marks the (few) dropped beams
            if gain is None and shift is None:
                shift = np.zeros((scans, n), dtype=np.float32)
            (gain if gain is not None else shift).reshape(-1)[_bernoulli_indices(self._rng, scans * n, self._dropout)] = np.nan
        # per-scan rows, taken without a slicing call
        self._gain = [None] * scans if gain is None else list(gain)
        self._shift = [None] * scans if shift is None else list(shift)
        self._block_left = scans


_BLOCK_BEAMS = 1 << 16  # beams of noise drawn at once


def _bernoulli_indices(rng: np.random.Generator, n: int, p: float) -> np.ndarray:
    """Indices where n independent Bernoulli(p) trials succeed, drawn as geometric gaps:
    exact, and it costs O(p·n) draws instead of n."""
    out = []
    start = -1
    while True:
        expect = (n - start) * p
        gaps = rng.geometric(p, size=int(expect + 6 * math.sqrt(expect) + 16))
        pos = start + np.cumsum(gaps)
        out.append(pos[pos < n])
        if pos[-1] >= n:
            return np.concatenate(out) if len(out) > 1 else out[0]
        start = int(pos[-1])
