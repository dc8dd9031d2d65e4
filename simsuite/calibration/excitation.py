"""Informative calibration experiments: what the robot flies or drives while real rollouts are
recorded, so that every fitted parameter leaves a mark in the data.

A parameter is only as identifiable as the data excite it. UAV-v0's rotor drag is a force
c·v (c ≈ 0.0056 N·s/m): while the scripted expert settles into a hover it barely moves
(≈ 0.5 m/s rms), drag changes the next velocity by ~0.001 m/s per control step against a
0.005 sensor noise, and ±30 % of it hardly shows. The designed experiment for UAV-v0 is a
horizontal circle through the start point, 0.7 m above the hover target with a vertical bob, flown by the
hover expert at 1.3–1.8 m/s reference speed (1.3–2.3 m/s rms flown): drag (∝ v), thrust over
mass and latency (the attitude loop keeps turning) show in every second of a 5 s rollout.
Two things make it safe across a ±35 % prior: a :class:`ThrustTrim` (a heavy drone with weak
propellers has 46 % less thrust per mass than the expert assumes and drops to the floor) and a
pace cut from the trim's thrust-to-weight estimate. Each rollout draws its angular speed and
bearing from the experiment's seeded Generator.

Families without a design here fall back to their scripted expert.
"""

from __future__ import annotations

import math
from typing import Callable

import gymnasium
import numpy as np

from simsuite.agents.experts import make_expert
from simsuite.agents.expert_uav import KD_POS, make_uav_expert
from simsuite.worlds.quadrotor import GRAVITY_M_S2, QuadrotorParams

Policy = Callable[[np.ndarray], np.ndarray]

CIRCLE_RADIUS_M = 1.3
CIRCLE_RAD_S = (1.0, 1.35)  # angular speed range: 1.3–1.8 m/s, 1.3–2.4 m/s² centripetal
BOB_AMPLITUDE_M = 0.15  # vertical excitation (thrust over mass, vertical drag)
LIFT_M = 0.7  # the circle is flown this far above the hover target (0.8–1.5 m): 1.5–2.2 m, room to dip
RAMP_S = 1.5  # the reference grows from the hover target over this time (no start transient)
MIN_PACE = 0.5  # the slowest circle, as a fraction of the design angular speed
GAINS = {"k_att": 2.5}  # a softer tilt loop than the expert's 5/s: it holds the circle under 40 ms latency


def smoother_step(t_s: float, span_s: float) -> tuple[float, float, float]:
    """r(t) = 6u⁵ − 15u⁴ + 10u³, u = t/span, and its first two time derivatives: both vanish at
    either end, so the ramp adds no jump to the feedforward acceleration."""
    u = min(max(t_s / span_s, 0.0), 1.0)
    return (u**3 * (10 - 15 * u + 6 * u * u), 30 * u * u * (1 - u) ** 2 / span_s, 60 * u * (1 - u) * (1 - 2 * u) / span_s**2)


def circle(t_s: float, phase: tuple[float, float, float], heading_rad: float, climb_m: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Reference offset from the start point, its velocity and acceleration [m], [m/s], [m/s²]:
    a horizontal circle of radius R through the start (its centre R away at ``heading_rad``
    + π), run at phase φ (``phase`` = φ, φ', φ''), and a climb of ``climb_m`` plus a bob
    B·sin 1.5φ that grow over :data:`RAMP_S`. The drone starts on the circle at rest and the circle's speed
    ramps up, so the reference never asks for a jump; at full speed the centripetal
    acceleration Rφ'² is constant: the tilt only turns, which the attitude loop follows far
    better than the reversals of a figure eight."""
    r, r1, r2 = smoother_step(t_s, RAMP_S)
    f, f1, f2 = phase
    big_r, lift, bob = CIRCLE_RADIUS_M, climb_m, BOB_AMPLITUDE_M
    g = heading_rad + f
    radial, tangent = np.array([math.cos(g), math.sin(g)]), np.array([-math.sin(g), math.cos(g)])
    xy = big_r * (radial - np.array([math.cos(heading_rad), math.sin(heading_rad)]))
    xy_rate = big_r * f1 * tangent
    xy_acc = big_r * (f2 * tangent - f1 * f1 * radial)
    sb, cb = math.sin(1.5 * f), math.cos(1.5 * f)
    z = r * (lift + bob * sb)
    z_rate = r1 * (lift + bob * sb) + r * bob * 1.5 * f1 * cb
    z_acc = r2 * (lift + bob * sb) + 2 * r1 * bob * 1.5 * f1 * cb + r * bob * (1.5 * f2 * cb - 2.25 * f1 * f1 * sb)
    return np.r_[xy, z], np.r_[xy_rate, z_rate], np.r_[xy_acc, z_acc]


def pace(thrust_ratio: float) -> float:
    """Fraction of the circle's design angular speed the airframe can fly: its peak acceleration
    (∝ ω²) is cut to what the estimated thrust-to-weight leaves beyond hover."""
    spare = QuadrotorParams().thrust_to_weight * thrust_ratio - 1.0
    return float(np.clip(math.sqrt(max(spare, 0.0)), MIN_PACE, 1.0))  # full pace from thrust-to-weight 2


class ThrustTrim:
    """Online estimate of the real thrust-to-mass ratio over the controller's nominal model
    (kf/m: ±30 % each can leave a drone 46 % short of hover thrust, more than the expert's
    integral can make up, and it drops to the floor in under a second). The motor speeds the
    nominal model expects (first-order lag of the commands) give a predicted specific force
    along body z; the measured one is the velocity change plus gravity. Low-passed ratio,
    clamped to what ±35 % priors allow. A practitioner trims the collective the same way
    before flying an experiment."""

    def __init__(self, dt_s: float, time_constant_s: float = 0.25, bounds: tuple[float, float] = (0.4, 2.5)):
        p = QuadrotorParams()
        self.dt_s, self.bounds = dt_s, bounds
        self.alpha = 1.0 - math.exp(-dt_s / time_constant_s)
        self.lag = 1.0 - math.exp(-dt_s / p.motor.tau_s)
        self.kf_over_m, self.max_rpm = p.motor.kf / p.mass_kg, p.motor.max_rpm
        self.rpm = np.full(4, p.hover_rpm)
        self.num = self.den = 0.0
        self.ratio = 1.0
        self._prev_vel: np.ndarray | None = None

    def update(self, obs: np.ndarray) -> float:
        """Fold in the step that led to ``obs``; returns the ratio (real / nominal thrust per mass)."""
        vel, body_z = obs[12:15].astype(np.float64), obs[3:12].astype(np.float64).reshape(3, 3)[:, 2]
        if self._prev_vel is not None:
            measured = float(((vel - self._prev_vel) / self.dt_s + np.array([0.0, 0.0, GRAVITY_M_S2])) @ body_z)
            predicted = self.kf_over_m * float(np.sum(self.rpm**2))
            self.num += self.alpha * (measured * predicted - self.num)
            self.den += self.alpha * (predicted * predicted - self.den)
            if self.den > 0:
                self.ratio = float(np.clip(self.num / self.den, *self.bounds))
        self._prev_vel = vel
        return self.ratio

    def command(self, action: np.ndarray) -> np.ndarray:
        """Motor commands scaled so the real thrust is what the nominal model asked for
        (thrust ∝ ω², so ω × 1/√ratio); the nominal-model motors then follow the sent command.
        (Raising every ω² by the same amount instead, to keep the attitude loop's gain, flew
        worse: a heavy, weak airframe saturates its motors and loses attitude authority.)"""
        rpm_cmd = (np.asarray(action, np.float64) + 1.0) * (0.5 * self.max_rpm) / math.sqrt(self.ratio)
        sent = np.clip(2.0 * rpm_cmd / self.max_rpm - 1.0, -1.0, 1.0)
        self.rpm += self.lag * ((sent + 1.0) * (0.5 * self.max_rpm) - self.rpm)
        return sent.astype(np.float32)


def make_uav_circle(env: gymnasium.Env, rng: np.random.Generator) -> Policy:
    """The hover expert tracking a circle (:func:`circle`) through its start point, its centre
    toward the hover target: it is handed the error to the moving reference and the velocity
    relative to the reference's (less the feedforward acceleration over its damping gain), and
    so flies the circle with its own PID loop; a :class:`ThrustTrim` scales its motor commands
    to the airframe's real thrust per mass. Each rollout draws its angular speed (and the
    circle's bearing when the start is on the target). Needs ``mission="hover"`` and
    ``action="motors"``."""
    task = env.unwrapped.task
    if task.mission != "hover" or task.action != "motors":
        raise ValueError(f"the UAV circle experiment flies motor commands around a hover target; "
                         f"got mission={task.mission!r}, action={task.action!r}")
    expert, dt = make_uav_expert(env, gains=GAINS), task.control_dt_s
    omega, heading, jitter = rng.uniform(*CIRCLE_RAD_S), rng.uniform(-math.pi, math.pi), rng.uniform(-0.5, 0.5)
    trim, clock = ThrustTrim(dt), {"t": 0.0, "phase": 0.0, "omega": omega, "start": None, "heading": heading}

    def policy(obs: np.ndarray) -> np.ndarray:
        ratio = trim.update(obs)
        if clock["start"] is None:
            clock["start"] = -np.asarray(obs[0:3], dtype=np.float64)  # start − target
            clock["climb"] = LIFT_M - clock["start"][2]  # to LIFT_M above the target, whatever the start
            if math.hypot(*obs[0:2]) > 0.2:  # the circle's centre toward the target: it stays mid-arena
                clock["heading"] = math.atan2(-obs[1], -obs[0]) + jitter
        if clock["t"] < RAMP_S:  # the pace settles with the trim during the ramp, then holds
            clock["omega"] = omega * pace(ratio)
        s, s1, _ = smoother_step(clock["t"], RAMP_S)
        offset, rate, acc = circle(clock["t"], (clock["phase"], clock["omega"] * s, clock["omega"] * s1), clock["heading"],
                                   clock["climb"])
        clock["t"] += dt
        clock["phase"] += clock["omega"] * s * dt
        shifted = np.array(obs, dtype=np.float64)
        shifted[0:3] += clock["start"] + offset
        shifted[12:15] -= rate + acc / KD_POS  # the damping term −kd·v then carries the feedforward (the integral does not)
        return trim.command(expert(shifted))

    policy.trim = trim  # the airframe's estimated thrust per mass, for tests and logs
    return policy


SLALOM_STEER = (0.25, 0.4)  # slalom amplitude added to the expert's steering, a fraction of full lock
SLALOM_HZ = (0.4, 0.6)  # slalom frequency [Hz]: about the car's yaw bandwidth at 10-15 m/s
PEDAL_CYCLE_S = 2.5  # full throttle, then full brake, every cycle
BRAKE_SHARE = 0.4  # the braking part of each pedal cycle
BRAKE_ABOVE_M_S = 3.0  # brakes only above this speed: the car never stops (no reverse gear)


def make_drive_slalom(env: gymnasium.Env, rng: np.random.Generator) -> Policy:
    """The Drive expert's lane keeping plus a slalom on the steering and a pedal that swings
    between full throttle and full braking. On the expert's gentle lane keeping, mass barely
    shows (the speed loop asks for small accelerations), tyre friction not at all (the tyres
    never near their grip) and steering gain only through slow corrections. Full throttle and
    braking give the acceleration per known wheel torque (mass); braking at 6.6 m/s² and the
    slalom's 5-9 m/s² lateral accelerations load the tyres toward their grip (friction, where
    the friction is low enough to reach); the slalom's yaw response to a known steering
    command gives the steering gain. The expert's Stanley loop stays in the loop, so the car
    weaves around its lane instead of leaving the road. Each rollout draws its slalom
    amplitude, frequency and phase and its pedal phase."""
    expert, dt = make_expert(env), env.unwrapped.task.control_dt_s
    amp, hz = rng.uniform(*SLALOM_STEER), rng.uniform(*SLALOM_HZ)
    phase, pedal_phase = rng.uniform(0, 2 * math.pi), rng.uniform(0, PEDAL_CYCLE_S)
    clock = {"t": 0.0}

    def policy(obs: np.ndarray) -> np.ndarray:
        action = np.asarray(expert(obs), dtype=np.float64)
        t = clock["t"]
        clock["t"] += dt
        action[0] += amp * math.sin(2 * math.pi * hz * t + phase)
        braking = ((t + pedal_phase) % PEDAL_CYCLE_S) > (1 - BRAKE_SHARE) * PEDAL_CYCLE_S
        action[1] = -1.0 if braking and obs[5] > BRAKE_ABOVE_M_S else 1.0
        return np.clip(action, -1.0, 1.0).astype(np.float32)

    return policy


# task class name -> the designed experiment (env, Generator) -> Policy
DESIGNS: dict[str, Callable[[gymnasium.Env, np.random.Generator], Policy]] = {"UAVTask": make_uav_circle,
                                                                              "DriveTask": make_drive_slalom}


def experiment(seed: int) -> Callable[[gymnasium.Env], Policy]:
    """The default calibration experiment, as ``collect``'s ``make_policy``: the family's
    design where one exists (and applies to the env's options), else its scripted expert.
    One Generator from ``seed`` draws each rollout's variation, so a seed replays exactly."""
    rng = np.random.default_rng(seed)

    def make(env: gymnasium.Env) -> Policy:
        task = env.unwrapped.task
        design = DESIGNS.get(type(task).__name__)
        if design is None or getattr(task, "mission", "hover") != "hover" or getattr(task, "action", "motors") != "motors":
            return make_expert(env)
        return design(env, rng)

    return make
