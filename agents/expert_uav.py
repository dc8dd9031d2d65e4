"""UAV-v0 expert: a cascaded controller that flies from the observation (plus the episode
clock, read through ``env.unwrapped`` to reset its integrators at each new episode).

position error → desired acceleration (PID for hover; a velocity PI loop toward a carrot
for waypoints and gates) → thrust vector, tilt-limited → collective thrust and body
rates (tilt-prioritised attitude P loop, Brescianini & D'Andrea 2018 style) → for
``action="motors"``, the same rate loop and mixer the task uses for ``action="ctbr"``.
For gates the carrot runs along the gate's axis (its normal, in the observation), so
the quadrotor lines up before it crosses the plane and keeps its speed through it.
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Mapping

import gymnasium
import numpy as np

from simsuite.envs.uav import MAX_RATES_RAD_S
from simsuite.worlds.quadrotor import GRAVITY_M_S2, QuadrotorParams, RateController, cross3

KP_POS, KD_POS, KI_POS = 2.0, 2.5, 0.6  # hover PID: [1/s²], [1/s], [1/s³]
MAX_INTEGRAL_M_S = 5.0  # anti-windup bound on the integrated position error [m·s]: ±3 m/s², a ±30% thrust-to-weight error
K_VEL, KI_VEL = 2.5, 1.0  # velocity PI loop: [1/s], [1/s²]
MIN_SPEED_M_S = 0.5  # keep closing in on a waypoint, so that wind cannot park the drone beside it
SPEED_M_S = {"waypoints": 1.2, "gates": 1.5}  # cruise speed [m/s]
APPROACH_M = 1.0  # gates: the carrot stays this far ahead of the drone along the gate axis [m]
THROUGH_M = 0.6  # gates: and at most this far past the gate [m]
K_ATT = (5.0, 5.0)  # tilt error → roll, pitch rate [1/s]
MAX_TILT_RAD = 0.6
MAX_ACCEL_M_S2 = 6.0


def model_params(values: Mapping[str, float] | None) -> QuadrotorParams:
    """The controller's model of the airframe: nominal, with ``quadrotor.mass_kg``,
    ``motor.kf`` and ``motor.km`` taken from ``values`` (e.g. a fitted distribution's means)."""
    p = QuadrotorParams()
    values = values or {}
    motor = replace(p.motor, **{k: float(values[f"motor.{k}"]) for k in ("kf", "km") if f"motor.{k}" in values})
    return replace(p, mass_kg=float(values.get("quadrotor.mass_kg", p.mass_kg)), motor=motor)


def make_uav_expert(env: gymnasium.Env, model: Mapping[str, float] | None = None, gains: Mapping[str, float] | None = None):
    """The cascaded controller. ``model``: the parameter values it believes (default: the
    nominal airframe, never the env's hidden truth); ``gains``: overrides of ``kp``, ``kd``,
    ``ki`` (hover PID) and ``k_att`` (tilt loop)."""
    task = env.unwrapped.task
    params, mission, motors = model_params(model), task.mission, task.action == "motors"
    g = {"kp": KP_POS, "kd": KD_POS, "ki": KI_POS, "k_att": K_ATT[0], **(gains or {})}
    rate_loop = RateController(params)
    mass, top = params.mass_kg, params.max_thrust_n
    dt = task.control_dt_s
    integral = np.zeros(3)  # integrated position [m·s] or velocity [m] error: cancels wind and drag

    def integrate(error: np.ndarray) -> np.ndarray:
        """Integral of the loop error since the episode began (backend time 0 = a reset)."""
        if env.unwrapped.backend.time_s == 0.0:
            integral[:] = 0.0
        integral[:] = np.clip(integral + error * dt, -MAX_INTEGRAL_M_S, MAX_INTEGRAL_M_S)
        return integral

    def desired_accel(obs: np.ndarray) -> np.ndarray:
        """World-frame acceleration command [m/s²], without gravity."""
        error, vel = obs[0:3].astype(float), obs[12:15].astype(float)
        if mission == "hover":
            return g["kp"] * error - g["kd"] * vel + g["ki"] * integrate(error)
        if mission == "gates":
            normal = obs[22:25].astype(float)
            along = -float(normal @ error)  # signed distance past the gate plane (< 0 before it)
            error = error + normal * min(THROUGH_M, along + APPROACH_M)
        dist = float(np.linalg.norm(error))
        speed = min(SPEED_M_S[mission], max(MIN_SPEED_M_S, 1.5 * dist))
        vel_error = error / max(dist, 1e-6) * speed - vel
        return K_VEL * vel_error + KI_VEL * integrate(vel_error)

    def policy(obs: np.ndarray) -> np.ndarray:
        rot = obs[3:12].astype(float).reshape(3, 3)
        rates = obs[15:18].astype(float)
        accel = desired_accel(obs)
        norm = np.linalg.norm(accel)
        if norm > MAX_ACCEL_M_S2:
            accel *= MAX_ACCEL_M_S2 / norm
        thrust = mass * (accel + np.array([0.0, 0.0, GRAVITY_M_S2]))
        thrust[2] = max(thrust[2], 0.2 * mass * GRAVITY_M_S2)
        horizontal = math.hypot(thrust[0], thrust[1])
        limit = thrust[2] * math.tan(MAX_TILT_RAD)
        if horizontal > limit:
            thrust[:2] *= limit / horizontal
        body_z = rot[:, 2]
        collective = float(thrust @ body_z)
        tilt_axis = cross3(body_z, thrust / np.linalg.norm(thrust)) @ rot  # Rᵀ(b3 × b3_des): body frame
        rates_des = np.array([g["k_att"] * tilt_axis[0], g["k_att"] * tilt_axis[1], 0.0])
        rates_des = np.clip(rates_des, -MAX_RATES_RAD_S, MAX_RATES_RAD_S)
        if motors:
            rpm = rate_loop.motor_rpm(collective, rates_des, rates)
            action = 2.0 * rpm / params.motor.max_rpm - 1.0
        else:
            action = np.r_[collective / (2.0 * top) - 1.0, rates_des / MAX_RATES_RAD_S]
        return np.clip(action, -1.0, 1.0).astype(np.float32)

    return policy
