"""IMU: accelerometer (specific force) and gyroscope (angular velocity) in the sensor frame.

Truth. The backend protocol reports velocities, not accelerations, so the accelerometer
differences the velocity of the sensor point between consecutive samples:
``a = (v_k - v_{k-1}) / Δt`` in world axes, then ``f = R_kᵀ (a - g)`` with ``R_k`` the sensor
axes now and ``g`` = ``backend.get_param("gravity")`` (read at reset). That is the *mean*
acceleration over the sample interval, which is what a real IMU reports after its
anti-aliasing filter, and it is identical on both engines. A resting IMU reads
``(0, 0, +9.81)`` (z up), one in free fall reads 0. The first sample after reset has no
previous velocity and assumes zero acceleration. The gyroscope reads ``R_kᵀ ω``.

Noise, per axis, from datasheet terms (all SI; see presets.py for a real part):
``y = (1 + s)·x + b_on + b_gm(t) + b_rw(t) + n(t)``, then saturated to ``±range``.

- ``n``: white noise of density ``N`` [unit/√Hz]: per sample σ = N / √Δt.
- ``b_gm``: bias instability, a first-order Gauss-Markov process with correlation time
  ``T`` = ``*_bias_corr_time_s``: ``b_k = φ b_{k-1} + σ_gm √(1-φ²) ξ``, φ = exp(-Δt/T),
  stationary σ_gm. Its Allan deviation is
  ``σ_A²(τ) = σ_gm² · 2/x² · (x - 3/2 + 2e^{-x} - e^{-2x}/2)``, x = τ/T, whose peak is
  ``GM_ALLAN_PEAK · σ_gm`` (≈ 0.6174) at τ ≈ 1.89 T. The configured ``*_bias_instability``
  B is that peak (the Allan-deviation floor a datasheet quotes), so σ_gm = B / GM_ALLAN_PEAK.
- ``b_rw``: bias random walk of density K [unit/s/√Hz]: ``b_k = b_{k-1} + K √Δt ξ``
  (Allan slope +1/2, σ_A = K √(τ/3)).
- ``b_on``: turn-on bias, drawn per episode ~ N(0, ``*_turn_on_bias``²) per axis.
- ``s``: scale-factor error, drawn per episode ~ N(0, ``*_scale_factor``²) per axis.

The per-sample recursion in :meth:`ImuNoise.step` and the vectorized generator
:meth:`ImuNoise.generate` (scipy ``lfilter`` and ``cumsum``, an hour of samples in well
under a second) consume the same normal draws in the same order, so they produce the
same sequence from the same seed (tested): the Allan test exercises the sensor's model.

Output: float32 ``(6,)`` = specific force xyz [m/s²] then angular velocity xyz [rad/s]
(:data:`ACCEL`, :data:`GYRO`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields

import gymnasium
import numpy as np

from simsuite.backends.base import Backend
from simsuite.sensors.base import Mount, Sensor, SensorError, check_timing, child_rng
from simsuite.transforms import quat_to_mat

ACCEL, GYRO = slice(0, 3), slice(3, 6)
_TRIADS = ("accel", "gyro")
_TERMS = ("noise_density", "bias_instability", "bias_corr_time_s", "random_walk", "turn_on_bias", "scale_factor", "range")
_BLOCK = 256  # samples of normal draws fetched at once by the per-sample path
_DRAWS = 18  # normals per sample: white (6), Gauss-Markov (6), random walk (6)


def _gm_allan_peak() -> float:
    """max over x of sqrt(2/x² (x - 3/2 + 2e^{-x} - e^{-2x}/2)): the GM Allan peak per unit σ."""
    x = np.linspace(0.5, 5.0, 200_001)
    f = 2.0 / x**2 * (x - 1.5 + 2.0 * np.exp(-x) - 0.5 * np.exp(-2.0 * x))
    return float(np.sqrt(f.max()))


GM_ALLAN_PEAK = _gm_allan_peak()


def gm_allan_deviation(tau_s: np.ndarray, sigma: float, corr_time_s: float) -> np.ndarray:
    """Allan deviation of a first-order Gauss-Markov process of stationary std ``sigma``."""
    x = np.asarray(tau_s, dtype=float) / corr_time_s
    return sigma * np.sqrt(2.0 / x**2 * (x - 1.5 + 2.0 * np.exp(-x) - 0.5 * np.exp(-2.0 * x)))


@dataclass(frozen=True)
class ImuConfig:
    """An IMU model. Units: accel terms in m/s² (density m/s²/√Hz, random walk m/s²/√s),
    gyro terms in rad/s (density rad/s/√Hz, random walk rad/s/√s); ranges are saturation
    limits (inf = none); scale factors are relative (0.01 = 1 %)."""

    rate_hz: float | None = 200.0
    latency_s: float = 0.0
    noise: bool = True  # False: exact readings (saturation kept)
    accel_noise_density: float = 0.0
    accel_bias_instability: float = 0.0
    accel_bias_corr_time_s: float = 100.0
    accel_random_walk: float = 0.0
    accel_turn_on_bias: float = 0.0
    accel_scale_factor: float = 0.0
    accel_range: float = math.inf
    gyro_noise_density: float = 0.0
    gyro_bias_instability: float = 0.0
    gyro_bias_corr_time_s: float = 100.0
    gyro_random_walk: float = 0.0
    gyro_turn_on_bias: float = 0.0
    gyro_scale_factor: float = 0.0
    gyro_range: float = math.inf

    def __post_init__(self) -> None:
        check_timing("imu", self.rate_hz, self.latency_s)
        for triad in _TRIADS:
            for term in _TERMS:
                value = getattr(self, f"{triad}_{term}")
                ok = value > 0 if term in ("bias_corr_time_s", "range") else math.isfinite(value) and value >= 0
                if not ok:
                    raise SensorError(f"imu '{triad}_{term}' must be {'> 0' if term in ('bias_corr_time_s', 'range') else 'finite and >= 0'}, got {value!r}")

    def per_axis(self, term: str) -> np.ndarray:
        """A (6,) array of one term, accel xyz then gyro xyz."""
        a, g = getattr(self, f"accel_{term}"), getattr(self, f"gyro_{term}")
        return np.array([a, a, a, g, g, g], dtype=float)

    @classmethod
    def field_names(cls) -> tuple[str, ...]:
        return tuple(f.name for f in fields(cls))


class ImuNoise:
    """The time-varying error processes of the six axes (accel xyz, gyro xyz)."""

    def __init__(self, config: ImuConfig, rng: np.random.Generator):
        self.rng = rng
        on = config.noise
        self.density = config.per_axis("noise_density") * on
        self.sigma_gm = config.per_axis("bias_instability") * on / GM_ALLAN_PEAK
        self.corr_time = config.per_axis("bias_corr_time_s")
        self.random_walk = config.per_axis("random_walk") * on
        self.active = bool(np.any(self.density) or np.any(self.sigma_gm) or np.any(self.random_walk))
        # state: GM bias drawn from its stationary distribution, random walk from 0
        self.gm = self.sigma_gm * rng.standard_normal(6) if self.active else np.zeros(6)
        self.rw = np.zeros(6)
        self._block = np.empty((0, _DRAWS))
        self._next = 0
        self._dt = None

    def _coefficients(self, dt: float) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        phi = np.exp(-dt / self.corr_time)
        return self.density / math.sqrt(dt), phi, self.sigma_gm * np.sqrt(1.0 - phi**2), self.random_walk * math.sqrt(dt)

    def step(self, dt: float) -> np.ndarray:
        """The (6,) error of one sample taken ``dt`` after the previous one."""
        if not self.active:
            return np.zeros(6)
        if self._next == len(self._block):
            self._block, self._next = self.rng.standard_normal((_BLOCK, _DRAWS)), 0
        xi = self._block[self._next]
        self._next += 1
        if self._dt is None or abs(dt - self._dt) > 1e-9 * dt:  # sums of timesteps jitter in the last bits
            self._dt, self._coef = dt, self._coefficients(dt)
        white, phi, q, k = self._coef
        self.gm = phi * self.gm + q * xi[6:12]
        self.rw = self.rw + k * xi[12:18]
        return white * xi[0:6] + self.gm + self.rw

    def generate(self, n: int, dt: float) -> np.ndarray:
        """``n`` consecutive (n, 6) errors at a fixed interval ``dt``, vectorized; continues the
        state exactly as ``n`` calls of :meth:`step` would (same draws, same order)."""
        from scipy.signal import lfilter

        if not self.active:
            return np.zeros((n, 6))
        left = self._block[self._next :]
        fresh = self.rng.standard_normal((max(0, n - len(left)), _DRAWS))
        xi = np.concatenate([left[:n], fresh]) if len(left) else fresh
        self._block, self._next = np.empty((0, _DRAWS)), 0
        white, phi, q, k = self._coefficients(dt)
        gm = np.empty((n, 6))
        for axis in range(6):  # b_k = φ b_{k-1} + q ξ_k, with b_{-1} the current state
            gm[:, axis], _ = lfilter([q[axis]], [1.0, -phi[axis]], xi[:, 6 + axis], zi=[phi[axis] * self.gm[axis]])
        rw = self.rw + np.cumsum(k * xi[:, 12:18], axis=0)
        if n:
            self.gm, self.rw = gm[-1].copy(), rw[-1].copy()
        return white * xi[:, 0:6] + gm + rw


class Imu(Sensor):
    """A 6-axis IMU on a mount; see the module docstring for the model."""

    TUNABLE = tuple(f"{triad}_{term}" for triad in ("accel", "gyro")
                    for term in ("noise_density", "bias_instability", "random_walk", "turn_on_bias", "scale_factor"))

    def __init__(self, name: str, config: ImuConfig, mount: Mount):
        self.name, self.config, self.mount = name, config, mount
        self.rate_hz, self.latency_s = config.rate_hz, config.latency_s
        self._limit = config.per_axis("range")
        self._space = gymnasium.spaces.Box(-self._limit.astype(np.float32), self._limit.astype(np.float32), (6,), np.float32)
        self.noise: ImuNoise | None = None

    @property
    def observation_space(self) -> gymnasium.spaces.Box:
        return self._space

    def reset(self, backend: Backend, rng: np.random.Generator) -> None:
        m = self.mount.resolve(backend)
        self._body, self._offset, self._rot = m.body, m.pos, m.rot
        self._offset_nonzero = bool(np.any(m.pos))
        self._rot_identity = bool(np.array_equal(m.rot, np.eye(3)))
        self._gravity = np.asarray(backend.get_param("gravity"), dtype=float).copy()
        self.reset_noise(rng)
        self._t_prev: float | None = None
        self._v_prev = np.zeros(3)

    def reset_noise(self, rng: np.random.Generator) -> None:
        """Draw this episode's turn-on biases and scale factors and restart the noise processes
        (part of :meth:`reset`; alone, it lets :meth:`simulate` run without a backend)."""
        cfg, on = self.config, self.config.noise
        self._rng = child_rng(rng)
        self.turn_on_bias = cfg.per_axis("turn_on_bias") * on * self._rng.standard_normal(6)
        self.scale = 1.0 + cfg.per_axis("scale_factor") * on * self._rng.standard_normal(6)
        self.noise = ImuNoise(cfg, self._rng)

    def true_reading(self, backend: Backend, t_s: float) -> np.ndarray:
        """Noise-free (6,) float64 specific force and angular velocity; advances the finite difference."""
        _, quat = backend.body_pose(self._body)
        v, w = backend.body_velocity(self._body, "world")
        rot_b = quat_to_mat(quat.tolist())
        if self._offset_nonzero:  # velocity of the sensor point: v + ω × r (scalar math: np.cross is slow)
            rx, ry, rz = (rot_b @ self._offset).tolist()
            wx, wy, wz = w.tolist()
            v = v + np.array([wy * rz - wz * ry, wz * rx - wx * rz, wx * ry - wy * rx])
        dt = None if self._t_prev is None else t_s - self._t_prev
        accel = (v - self._v_prev) / dt if dt is not None and dt > 0 else np.zeros(3)
        self._dt, self._t_prev, self._v_prev = dt, t_s, v
        rot = rot_b if self._rot_identity else rot_b @ self._rot
        # one product for both vectors: columns (a - g, ω) expressed in the sensor axes
        return (rot.T @ np.column_stack((accel - self._gravity, w))).T.ravel()

    def sample(self, backend: Backend, t_s: float) -> np.ndarray:
        truth = self.true_reading(backend, t_s)
        return self.corrupt(truth, self._dt)

    def corrupt(self, truth: np.ndarray, dt: float | None) -> np.ndarray:
        """One noisy (6,) float32 reading from a true one, ``dt`` after the previous sample
        (None for the first sample after reset, which gets the noise of one nominal period)."""
        if dt is None or dt <= 0:
            dt = self.period_s or 0.01
        y = self.scale * truth + self.turn_on_bias + self.noise.step(dt)
        return np.minimum(np.maximum(y, -self._limit), self._limit).astype(np.float32)

    def simulate(self, truth: np.ndarray, dt: float) -> np.ndarray:
        """Vectorized readings for an (n, 6) array of true values at a fixed interval (e.g. an
        hour of a static IMU for an Allan plot); continues this IMU's noise state."""
        truth = np.asarray(truth, dtype=float)
        y = self.scale * truth + self.turn_on_bias + self.noise.generate(len(truth), dt)
        return np.clip(y, -self._limit, self._limit).astype(np.float32)


def allan_deviation(y: np.ndarray, dt: float, taus_s: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Overlapping Allan deviation of rate samples ``y`` ((n,) or (n, k), one column per
    axis) taken every ``dt`` seconds. Returns ``(taus_s, adev)``; by default ~12 taus per
    decade from ``dt`` to a tenth of the record. Computed from the cumulative sum:
    ``σ²(τ=m·dt) = Σ (x_{i+2m} - 2x_{i+m} + x_i)² / (2 τ² (n - 2m))`` with x = Σ y·dt (IEEE 1139)."""
    y = np.asarray(y, dtype=float)
    if y.ndim == 1:
        y = y[:, None]
    n = len(y)
    if taus_s is None:
        decades = math.log10(max(1.0, n / 10))
        ms = np.unique(np.round(np.logspace(0, decades, max(2, int(12 * decades) + 1)))).astype(int)
    else:
        ms = np.unique(np.maximum(1, np.round(np.asarray(taus_s) / dt))).astype(int)
    ms = ms[(ms >= 1) & (2 * ms < n)]
    x = np.concatenate([np.zeros((1, y.shape[1])), np.cumsum(y * dt, axis=0)])
    adev = np.empty((len(ms), y.shape[1]))
    for row, m in enumerate(ms):
        d = x[2 * m :] - 2.0 * x[m:-m] + x[: -2 * m]
        adev[row] = np.sqrt(np.mean(d * d, axis=0) / (2.0 * (m * dt) ** 2))
    return ms * dt, adev.squeeze(axis=1) if adev.shape[1] == 1 else adev
