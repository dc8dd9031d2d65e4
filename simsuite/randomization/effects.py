"""Effects the env itself applies (no engine has them): action latency, action and
observation noise, control-rate jitter. Parameter names:

- ``actuation.latency_s``: an action's commands take effect this long after it is given [s],
  up to :attr:`Effects.HISTORY` control steps. Exact at the physics-step resolution: the task
  turns the delayed action into commands at the start of a control step of n substeps, and
  the backend holds them back for its first m substeps, which run on the previous commands
  and forces (``Backend.hold_commands``); whole control steps of delay come from a queue.
- ``actuation.noise_std``: Gaussian noise added to each action component, as a fraction of
  half its range, then clipped to the action box.
- ``observation.noise_std``: Gaussian noise added to the task's state vector [its units].
- ``control.jitter_s``: standard deviation of the control period [s]; each step runs
  round((dt + N(0, σ)) / h) ≥ 1 substeps, so the policy's clock and physics drift apart as on
  a robot whose control loop is not hard real time.

Per-step noise is drawn from the env's generator in blocks of :data:`NOISE_BLOCK` steps (one
generator call instead of one per step; observation noise in blocks that double up to
:data:`OBS_NOISE_BLOCK_MAX` steps); a block is dropped at reset and ``set_state``, so an
episode's draws depend only on the generator's state when it starts.
"""

from __future__ import annotations

import math
from collections import deque

import numpy as np

from simsuite import native

EFFECT_PARAMS = ("actuation.latency_s", "actuation.noise_std", "observation.noise_std", "control.jitter_s")
NOISE_BLOCK = 32  # steps of per-step noise drawn at once
OBS_NOISE_BLOCK_MAX = 256  # steps of observation noise drawn at once, at most


class _NoiseBlock:
    """Standard normal rows, drawn a block at a time and handed out one per step by number (no
    view made per step). Blocks start at ``NOISE_BLOCK`` rows and double up to ``max_rows``:
    long runs draw rarely, and a short rollout from a restored state draws little. A block
    keeps the shape, scale and dtype it was drawn with until :meth:`clear` (each user asks for
    one shape, and the values in force change only through a clear)."""

    def __init__(self, max_rows: int = NOISE_BLOCK) -> None:
        self.max_rows = max_rows
        self.clear()

    def clear(self) -> None:
        self.block: np.ndarray | None = None
        self.next = self.rows = 0  # the next row's number, and how many the block has

    def draw(self, rng: np.random.Generator, shape: tuple[int, ...], scale: np.ndarray | float, dtype: np.dtype = np.float64) -> int:
        """A new block of N(0, 1)·scale rows of ``shape`` as ``dtype``; returns its first row's number."""
        self.rows = min(2 * self.rows, self.max_rows) if self.rows else NOISE_BLOCK
        self.block = (rng.standard_normal((self.rows, *shape)) * scale).astype(dtype, copy=False)
        return 0

    def take(self, rng: np.random.Generator, shape: tuple[int, ...], scale: np.ndarray | float) -> int:
        """The next row's number (float64 rows; a new block when this one is used up)."""
        k = self.next
        if k == self.rows:
            k = self.draw(rng, shape, scale)
        self.next = k + 1
        return k


class Effects:
    """The env-level effects in force for one episode (all off by default)."""

    def __init__(self, control_dt_s: float, timestep_s: float, action_low: np.ndarray, action_high: np.ndarray):
        self.dt_s, self.h_s = control_dt_s, timestep_s
        self.low, self.high = action_low, action_high
        self._half_range = (action_high - action_low) / 2
        self.values = dict.fromkeys(EFFECT_PARAMS, 0.0)
        self.active = False
        self.obs_noise_std = self._action_noise_std = self._jitter_s = 0.0
        self._action_noise, self._jitter, self._obs_noise = _NoiseBlock(), _NoiseBlock(), _NoiseBlock(OBS_NOISE_BLOCK_MAX)
        self._delay_only = False
        self.reset()

    def set(self, name: str, value: float) -> None:
        if value < 0:
            raise ValueError(f"{name} must be >= 0, got {value}")
        if name == "actuation.latency_s" and value > self.HISTORY * self.dt_s + 1e-12:
            raise ValueError(f"{name} must be at most {self.HISTORY} control steps ({self.HISTORY * self.dt_s:g} s): "
                             f"the env's state keeps that many recent actions; got {value}")
        self.values[name] = float(value)
        # the action side (observation noise is applied on its own, after the step)
        self.active = any(self.values[n] > 0 for n in ("actuation.latency_s", "actuation.noise_std", "control.jitter_s"))
        # read every step: one attribute each
        self.obs_noise_std = self.values["observation.noise_std"]
        self._action_noise_std = self.values["actuation.noise_std"]
        self._action_noise_scale = self._action_noise_std * self._half_range  # [action units]
        self._jitter_s = self.values["control.jitter_s"]
        self._delay_only = self._action_noise_std == 0 and self._jitter_s == 0  # plan_step's short path
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
        for block in (self._action_noise, self._jitter, self._obs_noise):
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

    def plan_step(self, action: np.ndarray, n: int, rng: np.random.Generator) -> tuple[np.ndarray, int, int]:
        """One control step of ``n`` substeps under the effects in force: (the action to apply,
        the substeps to run on the previous commands and forces before it lands, the
        substeps in all). Noise first (the command as sent), then the delay; the first
        action of an episode stands in for the commands before it (the robot was already
        doing that when the episode started) and acts from the first substep."""
        if self._delay_only and self._started:  # latency alone, the common case: a queue turns
            self._history.append(action)
            queue = self._queue
            queue.append(action)
            self.last_applied = applied = queue.popleft()
            return applied, self.split_substeps, n
        if self._jitter_s > 0:  # the control period drifts: round((dt + N(0, σ)) / h) >= 1 substeps
            k = self._jitter.take(rng, (), self._jitter_s)
            n = max(1, int(round((self.dt_s + float(self._jitter.block[k])) / self.h_s)))
        if self._action_noise_std > 0:
            k = self._action_noise.take(rng, action.shape, self._action_noise_scale)
            action = native.add_clip(action, self._action_noise.block[k], self.low, self.high)
        self._history.append(action)
        if not self._started:
            self._started = True
            self._queue.extend([action] * self.whole_steps)
            self.last_applied = action
            return action, 0, n
        self._queue.append(action)
        self.last_applied = self._queue.popleft()
        return self.last_applied, min(self.split_substeps, n - 1), n  # (jitter may shorten the step)

    def noisy_obs(self, obs: np.ndarray, rng: np.random.Generator, low: np.ndarray, high: np.ndarray) -> np.ndarray:
        """The state vector plus noise, kept inside its space's bounds. The noise block is
        drawn in the observation's dtype (float64 for an integer one), so each step adds and
        clips in that dtype, with no conversions, and hands the kernel its row by number."""
        noise = self._obs_noise  # _NoiseBlock.take inlined: this runs every step
        k = noise.next
        if k == noise.rows:
            k = self._draw_obs_noise(rng, obs, low, high)
        noise.next = k + 1
        return self._add_obs_noise(obs, noise.block, low, high, k)

    def _draw_obs_noise(self, rng: np.random.Generator, obs: np.ndarray, low: np.ndarray, high: np.ndarray) -> int:
        """A new block of observation noise, and the kernel that adds it (numpy's casting where
        the dtypes differ). Returns its first row's number."""
        k = self._obs_noise.draw(rng, obs.shape, self.obs_noise_std, obs.dtype if obs.dtype.kind == "f" else np.float64)
        same = all(a.dtype == obs.dtype and a.flags.c_contiguous for a in (obs, low, high))
        self._add_obs_noise = native.add_clip_row if same and obs.dtype.kind == "f" else _add_noise_cast
        return k


def _add_noise_cast(obs: np.ndarray, block: np.ndarray, low: np.ndarray, high: np.ndarray, row: int) -> np.ndarray:
    """Observation noise where the state vector's dtype differs from its bounds' (numpy's
    casting), or is an integer one (noisy values rounded back)."""
    return native._numpy_add_clip(obs, block[row], low, high).astype(obs.dtype, copy=False)
