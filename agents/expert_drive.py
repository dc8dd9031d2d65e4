"""Drive-v0 expert: Stanley steering (Hoffmann et al. 2007) along the ego lane shifted
left around blocked stretches, plus a speed profile that slows for curvature, for tight
lane changes, and to wait behind a blockage while oncoming traffic would meet the pass.

It reads the task's route, the blocked stretches and the traffic plan (privileged, as a
scripted expert may) and the car's state from the task's last snapshot.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import gymnasium
import numpy as np

A_LAT_MAX = 2.5  # comfortable lateral acceleration [m/s²]
A_DECEL = 3.0  # planned braking [m/s²]
K_STANLEY = 1.5  # cross-track gain [1/s]
K_SOFT = 1.0  # [m/s], keeps the cross-track term finite at standstill
K_YAW = 0.05  # yaw-rate damping [s]
K_SPEED = 1.5  # speed loop gain [1/s]
A_THROTTLE_MAX, A_BRAKE_MAX = 3.3, 6.6  # the car's full-pedal accelerations [m/s²]
CAR_HALF_M = 2.2
WAIT_GAP_M = 18.0  # where to wait behind a blockage, and the shortest lane change from there


@dataclass
class Pass:
    """A stretch driven in the left lane: ramp in over [ramp_in, full_in], full offset to
    full_out, ramp back over [full_out, ramp_out] (stations of the car centre [m])."""

    ramp_in: float
    full_in: float
    full_out: float
    ramp_out: float
    committed: bool = False

    def offset(self, s: float, width: float) -> tuple[float, float]:
        """Target lateral offset [m] and its slope d(offset)/ds at station ``s`` (cosine ramps)."""
        if s <= self.ramp_in or s >= self.ramp_out:
            return 0.0, 0.0
        if self.full_in <= s <= self.full_out:
            return width, 0.0
        a, b, sign = (self.ramp_in, self.full_in, 1.0) if s < self.full_in else (self.full_out, self.ramp_out, -1.0)
        u = (s - a) / (b - a)
        off = 0.5 * (1 - math.cos(math.pi * u)) if sign > 0 else 0.5 * (1 + math.cos(math.pi * u))
        return width * off, sign * width * 0.5 * math.pi * math.sin(math.pi * u) / (b - a)


def make_drive_expert(env: gymnasium.Env):
    """A ``policy(obs) -> action`` that replans its passes whenever a new episode starts."""
    task = env.unwrapped.task
    state = {"world": None, "passes": [], "t": math.inf}

    def plan() -> list[Pass]:
        """One pass per blocked stretch, with the lane change as long as speed requires."""
        ramp = float(np.clip(3.0 * task.target_speed_m_s, 20.0, 40.0))
        passes = []
        for block in task.world.blocks:
            reach = max(block.half_size_m[0], block.half_size_m[1])
            full_in = block.s_m - reach - CAR_HALF_M - 2.0
            full_out = block.s_m + reach + CAR_HALF_M + 3.0
            passes.append(Pass(full_in - ramp, full_in, full_out, full_out + ramp))
        return passes

    def policy(obs: np.ndarray) -> np.ndarray:
        if state["world"] is not task.world or state["t"] > task.last_time_s:
            state["world"], state["passes"] = task.world, plan()
        state["t"] = task.last_time_s
        snap, route = task.last_state, task.route
        s, lateral, heading_err, v = snap["s"], snap["lateral"], snap["heading_error"], snap["v"]
        width = route.lane_width_m
        v_cap = _speed_profile(route, s, task.target_speed_m_s)
        target, slope = 0.0, 0.0
        for p in state["passes"]:
            if s > p.ramp_out:
                continue
            if not p.committed and s >= p.ramp_in - 5.0:
                if _oncoming_clear(task, p, s, v):
                    p.committed = True
                    p.ramp_in = max(p.ramp_in, s)  # a late start: the ramp begins here
                else:
                    v_cap = min(v_cap, math.sqrt(2 * A_DECEL * max(p.full_in - WAIT_GAP_M - s, 0.0)))
            if p.committed:
                off, d_off = p.offset(s, width)
                if off > target:
                    target, slope = off, d_off
                    v_cap = min(v_cap, _lane_change_speed(p, s))
        # Stanley on the shifted path, measured at the front axle
        path_err = heading_err - math.atan(slope)
        front_err = (lateral - target) + task.car.wheelbase_m / 2 * math.sin(path_err)
        kappa = float(route.curvature_at(s + 3.0))
        delta = math.atan(task.car.wheelbase_m * kappa) - path_err - math.atan(K_STANLEY * front_err / (abs(v) + K_SOFT))
        delta -= K_YAW * (snap["yaw_rate"] - v * kappa)
        accel = K_SPEED * (v_cap - v)
        pedal = accel / A_THROTTLE_MAX if accel > 0 else accel / A_BRAKE_MAX
        return np.array([np.clip(delta / task.car.max_steer_rad, -1, 1), np.clip(pedal, -1, 1)], dtype=np.float32)

    return policy


def _speed_profile(route, s: float, v_max: float) -> float:
    """The fastest speed from which every curve within braking range is taken at
    ``A_LAT_MAX``: v(s) = min over s' ahead of sqrt(v_curve(s')² + 2·a·(s' − s))."""
    ahead = np.arange(0.0, 60.0, 2.0)
    kappa = np.abs(route.curvature_at(s + ahead))
    v_curve = np.sqrt(A_LAT_MAX / np.maximum(kappa, 1e-6))
    return float(min(v_max, np.min(np.sqrt(v_curve**2 + 2 * A_DECEL * ahead))))


def _lane_change_speed(p: Pass, s: float | None = None) -> float:
    """Speed at which a ramp's peak lateral acceleration is ``A_LAT_MAX`` (a cosine ramp
    of length L and height w peaks at (π/L)²·(w/2)·v²): the ramp in until the car is
    across, then the ramp back; both when ``s`` is None."""
    length_in, length_out = p.full_in - p.ramp_in, p.ramp_out - p.full_out
    length = min(length_in, length_out) if s is None else (length_in if s < p.full_in else length_out)
    return length / math.pi * math.sqrt(A_LAT_MAX / 1.75)


def _travel_time(distance_m: float, v0_m_s: float, v_max_m_s: float, accel_m_s2: float = 2.0) -> float:
    """Time to cover ``distance_m`` from ``v0`` accelerating at ``accel`` up to ``v_max``."""
    v0 = max(v0_m_s, 0.0)
    if v0 >= v_max_m_s:
        return distance_m / max(v_max_m_s, 0.1)
    d_acc = (v_max_m_s**2 - v0**2) / (2 * accel_m_s2)
    if distance_m <= d_acc:
        return (math.sqrt(v0**2 + 2 * accel_m_s2 * distance_m) - v0) / accel_m_s2
    return (v_max_m_s - v0) / accel_m_s2 + (distance_m - d_acc) / v_max_m_s


def _oncoming_clear(task, p: Pass, s: float, v: float) -> bool:
    """Whether no oncoming car is in the left lane over [ramp_in, ramp_out] while the ego is."""
    if not task.traffic_plan:
        return True
    t_now, v_pass = task.last_time_s, min(_lane_change_speed(p), task.target_speed_m_s)
    t_in = _travel_time(max(p.ramp_in - s, 0.0), v, v_pass)
    t_out = _travel_time(p.ramp_out - s, v, v_pass) + 1.0
    for _, s0, speed in task.traffic_plan:
        s_k = s0 - speed * t_now
        if s_k < p.ramp_in - 3.0:
            continue  # already past the stretch
        t_a = max(s_k - p.ramp_out - 3.0, 0.0) / speed
        t_b = (s_k - p.ramp_in + 3.0) / speed
        if t_a < t_out and t_b > t_in:
            return False
    return True
