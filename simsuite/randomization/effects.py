"""Effects the env itself applies (no engine has them): action latency, action and
observation noise, control-rate jitter. Parameter names:

- ``actuation.latency_s``: an action takes effect this long after it is given [s]. Exact at
  the physics-step resolution: a control step of n substeps runs its first m substeps on the
  previous commands and forces, then the task applies the delayed action (whole control steps
  of delay come from a queue).
- ``actuation.noise_std``: Gaussian noise added to each action component, as a fraction of
  half its range, then clipped to the action box.
- ``observation.noise_std``: Gaussian noise added to the task's state vector [its units].
- ``control.jitter_s``: standard deviation of the control period [s]; each step runs
  round((dt + N(0, σ)) / h) ≥ 1 substeps, so the policy's clock and physics drift apart as on
  a robot whose control loop is not hard real time.

Per-step noise is drawn from the env's generator in blocks of :data:`NOISE_BLOCK` steps (one
generator call instead of one per step); a block is dropped at reset and ``set_state``, so
an episode's draws depend only on the generator's state when it starts.
"""

from __future__ import annotations

import math
from collections import deque

import numpy as np

EFFECT_PARAMS = ("actuation.latency_s", "actuation.noise_std", "observation.noise_std", "control.jitter_s")
NOISE_BLOCK = 32  # steps of per-step noise drawn at once


class _NoiseBlock:
    """Standard normal rows drawn ``NOISE_BLOCK`` at a time, handed out one row per step."""

    def __init__(self) -> None:
        self.clear()

    def clear(self) -> None:
        self._rows: np.ndarray | None = None
        self._next = 0

    def row(self, rng: np.random.Generator, shape: tuple[int, ...], scale: np.ndarray | float, dtype: np.dtype = np.float64) -> np.ndarray:
        """The next ``shape`` of N(0, 1)·scale as ``dtype`` (read-only: it is a view into the block)."""
        rows = self._rows
        if rows is None or self._next == len(rows) or rows.shape[1:] != shape or rows.dtype != dtype:
            rows = self._rows = (rng.standard_normal((NOISE_BLOCK, *shape)) * scale).astype(dtype, copy=False)
            self._next = 0
        self._next += 1
        return rows[self._next - 1]


class Effects:
    """The env-level effects in force for one episode (all off by default)."""

    def __init__(self, control_dt_s: float, timestep_s: float, action_low: np.ndarray, action_high: np.ndarray):
        self.dt_s, self.h_s = control_dt_s, timestep_s
        self.low, self.high = action_low, action_high
        self._half_range = (action_high - action_low) / 2
        self.values = dict.fromkeys(EFFECT_PARAMS, 0.0)
        self.active = False
        self.obs_noise_std = 0.0
        self._action_noise, self._obs_noise, self._jitter = _NoiseBlock(), _NoiseBlock(), _NoiseBlock()
        self.reset()

    def set(self, name: str, value: float) -> None:
        if value < 0:
            raise ValueError(f"{name} must be >= 0, got {value}")
        self.values[name] = float(value)
        self.active = any(v > 0 for v in self.values.values())
        self.obs_noise_std = self.values["observation.noise_std"]  # read every step: one attribute
        self._clear_noise()

    def reset(self) -> None:
        """A new episode: the latency queue starts empty."""
        latency = self.values["actuation.latency_s"]
        steps = latency / self.dt_s
        self.whole_steps = int(math.floor(steps + 1e-9))
        self.split_substeps = int(round((latency - self.whole_steps * self.dt_s) / self.h_s))
        if self.split_substeps >= round(self.dt_s / self.h_s):  # rounds up to a whole step
            self.whole_steps, self.split_substeps = self.whole_steps + 1, 0
        self._queue: deque[np.ndarray] = deque()
        self._history: deque[np.ndarray] = deque(maxlen=self.HISTORY)
        self._started = False
        self.last_applied: np.ndarray | None = None  # the delayed action the last step applied
        self._clear_noise()

    def _clear_noise(self) -> None:
        """Drop pre-drawn noise (the values in force may have changed; a restored state draws afresh)."""
        for block in (self._action_noise, self._obs_noise, self._jitter):
            block.clear()

    HISTORY = 8  # actions kept in the state: latency up to HISTORY control steps

    def get_state(self) -> np.ndarray:
        """[number of recent actions, has last applied, HISTORY recent actions (oldest first,
        zero-padded in front), the last applied action]: with the latency in force they
        rebuild the queue, whatever latency the state is restored under."""
        rows = np.zeros((self.HISTORY + 1, len(self.low)))
        if self._history:
            rows[self.HISTORY - len(self._history):self.HISTORY] = list(self._history)
        has_last = self.last_applied is not None
        if has_last:
            rows[-1] = self.last_applied
        return np.concatenate([[len(self._history), float(has_last)], rows.ravel()])

    def set_state(self, state: np.ndarray) -> None:
        state = np.asarray(state, dtype=np.float64)
        count, has_last = int(state[0]), bool(state[1])
        rows = state[2:].reshape(self.HISTORY + 1, len(self.low))
        self.last_applied = rows[-1].copy() if has_last else None
        recent = list(rows[self.HISTORY - count:self.HISTORY]) if count else []
        self._queue = deque(recent[len(recent) - self.whole_steps:] if self.whole_steps else [])
        self._history = deque(recent, maxlen=self.HISTORY)
        self._started = count > 0
        self._clear_noise()

    def substeps(self, n: int, rng: np.random.Generator) -> int:
        """Physics substeps for this control step (jittered when control.jitter_s > 0)."""
        sigma = self.values["control.jitter_s"]
        if sigma <= 0:
            return n
        return max(1, int(round((self.dt_s + float(self._jitter.row(rng, (), sigma))) / self.h_s)))

    def noisy_action(self, action: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        sigma = self.values["actuation.noise_std"]
        if sigma <= 0:
            return action
        noisy = action + self._action_noise.row(rng, action.shape, sigma * self._half_range)
        np.maximum(noisy, self.low, out=noisy)
        return np.minimum(noisy, self.high, out=noisy)

    def delayed(self, action: np.ndarray, n: int) -> tuple[np.ndarray, int]:
        """(the action to apply this step, substeps to run on the previous commands first).
        The first action of an episode stands in for the commands before it (the robot was
        already doing that when the episode started) and acts from the first substep."""
        self._history.append(action)
        if not self._started:
            self._started = True
            self._queue.extend([action] * self.whole_steps)
            self.last_applied = action
            return action, 0
        self._queue.append(action)
        self.last_applied = self._queue.popleft()
        return self.last_applied, min(self.split_substeps, n - 1)  # (jitter may shorten the step)

    def noisy_obs(self, obs: np.ndarray, rng: np.random.Generator, low: np.ndarray, high: np.ndarray) -> np.ndarray:
        """The state vector plus noise, kept inside its space's bounds. The noise block is
        drawn in float64 and stored in the observation's dtype, so each step adds and clips
        in that dtype (three calls, no conversions)."""
        sigma = self.obs_noise_std
        if sigma <= 0:
            return obs
        dtype = obs.dtype if obs.dtype.kind == "f" else np.dtype(np.float64)
        noisy = obs + self._obs_noise.row(rng, obs.shape, sigma, dtype)  # in place from here: this runs every step
        np.maximum(noisy, low, out=noisy)
        np.minimum(noisy, high, out=noisy)
        return noisy.astype(obs.dtype, copy=False)
