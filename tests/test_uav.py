"""SimSuite/UAV-v0: quadrotor physics, world-builder guarantees, env contract and the expert,
on both backends (``backend_name`` comes from conftest.py)."""

from __future__ import annotations

import math
import warnings

import gymnasium
import numpy as np
import pytest

import simsuite  # noqa: F401
from simsuite.agents.experts import make_expert
from simsuite.backends import make_backend
from simsuite.env import SimEnv
from simsuite.envs.uav import MAX_RATES_RAD_S, REACH_BONUS, UAVTask
from simsuite.worlds.quadrotor import QUAD, ROTOR_SITES, SPIN, Arena, QuadrotorParams, Rotors, Wind, build_world, draw_course
from simsuite.worlds.quadrotor import mixer_matrix, segment_distance

ENV_ID = "SimSuite/UAV-v0"
P = QuadrotorParams()


def make(backend_name: str, **options) -> gymnasium.Env:
    return gymnasium.make(ENV_ID, backend=backend_name, **options)


def place(env: gymnasium.Env, pos=(0.0, 0.0, 1.0), quat=(1.0, 0.0, 0.0, 0.0), vel=(0.0, 0.0, 0.0), rates=(0.0, 0.0, 0.0)) -> None:
    """Put the quadrotor in a known state mid-episode (motors keep their speeds)."""
    env_u = env.unwrapped
    env_u.backend.set_body_pose(QUAD, pos, quat)
    env_u.backend.set_body_velocity(QUAD, vel, rates)
    env_u.task.resync(env_u.backend)


def hover_action() -> np.ndarray:
    return np.full(4, 2 * P.hover_rpm / P.motor.max_rpm - 1, np.float32)


# -- constants and the motor model --------------------------------------------------------


def test_crazyflie_constants_match_the_reference():
    assert P.hover_rpm == pytest.approx(14_500, rel=0.01)
    assert P.thrust_to_weight == pytest.approx(2.25, rel=1e-6)
    assert 0.125 <= P.max_thrust_n <= 0.160  # published full-speed thrust per motor [N]
    np.testing.assert_allclose(np.abs(P.rotor_positions()[:, :2]), 0.028, atol=1e-4)
    scene = build_world(P)
    body = scene.body(QUAD)
    assert body.is_free and body.inertial.mass_kg == 0.027 and body.inertial.diag_inertia == (1.4e-5, 1.4e-5, 2.17e-5)
    assert [s.name for s in body.sites] == list(ROTOR_SITES)


def test_rotor_model_gives_the_exact_mean_wrench_over_a_step():
    dt = 0.02
    rotors = Rotors(P, P.rotor_positions(), dt_s=dt)
    start, command = rotors.rpm.copy(), np.array([21_000.0, 0.0, 14_000.0, 18_000.0])
    wrench = rotors.step(command)
    t = np.linspace(0.0, dt, 20_001)
    rpm = command + (start - command) * np.exp(-t[:, None] / P.motor.tau_s)
    mean_sq = np.trapezoid(rpm**2, t, axis=0) / dt
    np.testing.assert_allclose(wrench, mixer_matrix(P) * P.motor.kf @ mean_sq, rtol=1e-7)
    np.testing.assert_allclose(rotors.rpm, rpm[-1], rtol=1e-12)


def test_wind_gusts_have_the_requested_mean_and_spread():
    wind, rng = Wind(3.0, 1.0, dt_s=0.02), np.random.default_rng(0)
    wind.reset(rng)
    samples = np.array([wind.step(rng) for _ in range(20_000)])  # 400 s, ~400 correlation times
    assert np.linalg.norm(wind.mean) == pytest.approx(3.0) and wind.mean[2] == 0.0
    np.testing.assert_allclose(samples.mean(axis=0), wind.mean, atol=0.25)
    np.testing.assert_allclose(samples.std(axis=0), 1.0, rtol=0.15)


def test_motor_speed_follows_a_first_order_lag(backend_name):
    env = make(backend_name)
    env.reset(seed=0)
    task = env.unwrapped.task
    full = np.ones(4, np.float32)
    steps = round(P.motor.tau_s / task.control_dt_s * 5)  # 5 τ
    rpm = [task.motor_rpm]
    for _ in range(steps):
        env.step(full)
        rpm.append(task.motor_rpm)
    t = np.arange(steps + 1) * task.control_dt_s
    expected = P.motor.max_rpm + (P.hover_rpm - P.motor.max_rpm) * np.exp(-t / P.motor.tau_s)
    np.testing.assert_allclose(np.array(rpm)[:, 0], expected, rtol=1e-9)
    env.close()


def test_hover_command_holds_the_quadrotor_still(backend_name):
    env = make(backend_name)
    env.reset(seed=0)
    place(env, pos=(0.0, 0.0, 1.0))
    for _ in range(50):  # 1 s
        env.step(hover_action())
    pos, _ = env.unwrapped.backend.body_pose(QUAD)
    np.testing.assert_allclose(pos, (0.0, 0.0, 1.0), atol=1e-6)
    env.close()


@pytest.mark.parametrize(
    "faster, axis, sign",
    [((2, 3), 0, 1.0), ((0, 1), 0, -1.0), ((1, 2), 1, 1.0), ((0, 3), 1, -1.0), ((1, 3), 2, 1.0), ((0, 2), 2, -1.0)],
)
def test_rotor_differences_turn_the_body_the_right_way(backend_name, faster, axis, sign):
    """Left rotors up → roll +x; back rotors up → pitch +y (nose down); CW-spinning 1, 3 up → yaw +z."""
    env = make(backend_name)
    env.reset(seed=0)
    place(env)
    action = hover_action()
    action[list(faster)] += 0.1
    for _ in range(5):
        obs, *_ = env.step(action)
    rates = obs[15:18]
    assert sign * rates[axis] > 0.05 and np.abs(np.delete(rates, axis)).max() < 0.2 * abs(rates[axis])
    env.close()


def test_one_wrench_equals_four_rotor_forces_at_the_sites(backend_name):
    """The task applies the rotor forces as one wrench about the centre of mass; the same
    forces applied one by one at the rotor sites give the same motion."""
    thrust = np.array([0.05, 0.07, 0.06, 0.08])  # [N]
    yaw = P.motor.km / P.motor.kf * float(SPIN @ thrust)
    r = P.rotor_positions()
    states = []
    for per_site in (False, True):
        backend = make_backend(backend_name)
        backend.compile(build_world(P))
        backend.set_body_pose(QUAD, (0.0, 0.0, 1.0), (0.9, 0.1, -0.2, 0.3))
        for _ in range(10):
            if per_site:
                for name, f in zip(ROTOR_SITES, thrust):
                    backend.apply_force(QUAD, (0.0, 0.0, f), point=name, frame="body")
                backend.apply_force(QUAD, torque_nm=(0.0, 0.0, yaw), frame="body")
            else:
                torque = (float(r[:, 1] @ thrust), float(-r[:, 0] @ thrust), yaw)
                backend.apply_force(QUAD, (0.0, 0.0, thrust.sum()), torque, frame="body")
            backend.step(4)
        states.append(np.concatenate([*backend.body_pose(QUAD), *backend.body_velocity(QUAD)]))
        backend.close()
    np.testing.assert_allclose(states[0], states[1], atol=1e-12)


def test_ctbr_rate_loop_tracks_a_commanded_roll_rate(backend_name):
    env = make(backend_name, action="ctbr")
    env.reset(seed=0)
    place(env)
    hover_thrust = 2 * P.weight_n / (4 * P.max_thrust_n) - 1
    command = np.array([hover_thrust, 2.0 / MAX_RATES_RAD_S[0], 0.0, 0.0], np.float32)
    for _ in range(15):  # 0.3 s, 4 motor time constants
        obs, *_ = env.step(command)
    assert obs[15] == pytest.approx(2.0, rel=0.15) and abs(obs[16]) < 0.2 and abs(obs[17]) < 0.2
    env.close()


def test_wind_pushes_the_quadrotor_downwind(backend_name):
    env = make(backend_name, wind_m_s=5.0)
    env.reset(seed=0)
    place(env)
    wind = env.unwrapped.task.wind_velocity_m_s
    for _ in range(25):
        env.step(hover_action())
    pos, _ = env.unwrapped.backend.body_pose(QUAD)
    drift = pos[:2]
    expected = 0.5 * P.drag.xy_n_s_m * 5.0 / P.mass_kg * 0.5**2  # ½·a·t², drag on the drift neglected [m]
    assert drift @ wind[:2] / (np.linalg.norm(drift) * 5.0) > 0.99
    assert np.linalg.norm(drift) == pytest.approx(expected, rel=0.1)
    env.close()


def test_both_backends_fly_the_same_rigid_body():
    """Free flight is the same rigid body on both engines: open-loop replays agree to µm."""
    envs = [make(b, mission="gates") for b in ("mujoco", "pybullet")]
    obs = [env.reset(seed=1)[0] for env in envs]
    policy = make_expert(envs[0])
    for _ in range(100):
        action = policy(obs[0])
        obs = [env.step(action)[0] for env in envs]
    poses = [env.unwrapped.backend.body_pose(QUAD)[0] for env in envs]
    np.testing.assert_allclose(poses[0], poses[1], atol=1e-6)
    for env in envs:
        env.close()


# -- crashes and mission progress ------------------------------------------------------------


def test_falling_ends_in_a_ground_crash(backend_name):
    env = make(backend_name)
    env.reset(seed=0)
    for step in range(200):
        _, reward, terminated, truncated, info = env.step(-np.ones(4, np.float32))
        if terminated:
            break
    assert terminated and info["crash"] == "ground" and not info["is_success"]
    assert info["reward_terms"]["crash"] < 0 and step < 50
    env.close()


def test_excessive_tilt_ends_the_episode(backend_name):
    env = make(backend_name, max_tilt_rad=0.5)
    env.reset(seed=0)
    place(env)
    action = hover_action()
    action[[2, 3]] += 0.3
    for _ in range(50):
        obs, _, terminated, _, info = env.step(action)
        if terminated:
            break
    assert terminated and info["crash"] == "tilt" and obs[11] < math.cos(0.5) + 0.1
    env.close()


def test_gate_frame_contact_is_a_crash_and_the_opening_counts(backend_name):
    env = make(backend_name, mission="gates")
    env.reset(seed=2)
    task = env.unwrapped.task
    gate = task.course.gates[0]
    side = np.array([-gate.normal[1], gate.normal[0], 0.0])
    quat = (math.cos(gate.yaw_rad / 2), 0.0, 0.0, math.sin(gate.yaw_rad / 2))
    # beside the opening (outside the frame) through the plane: not counted
    place(env, gate.center + 0.6 * side - 0.05 * gate.normal, quat)
    place(env, gate.center + 0.6 * side + 0.05 * gate.normal, quat)
    assert env.unwrapped.task.extra_info(env.unwrapped.backend)["targets_reached"] == 0
    # through the opening, forward: counted, the next gate becomes the target
    place(env, gate.center - 0.05 * gate.normal, quat)
    place(env, gate.center + 0.05 * gate.normal, quat)
    obs, _, terminated, _, info = env.step(hover_action())
    assert info["targets_reached"] == 1 and not terminated
    np.testing.assert_allclose(obs[22:25], task.course.gates[1].normal, atol=1e-6)
    # into the top bar: a gate crash
    place(env, gate.center + np.array([0.0, 0.0, Arena().gate_half_opening_m + 0.03]), quat)
    _, _, terminated, _, info = env.step(hover_action())
    assert terminated and info["crash"] == "gate"
    env.close()


@pytest.mark.parametrize("mission", ["waypoints", "gates"])
def test_action_latency_keeps_every_reach_bonus(backend_name, mission):
    """Under latency a control step is split and the motion read mid-step; the mission is
    checked once per control step, so the step that reaches a target also pays its bonus."""
    env = make(backend_name, mission=mission, randomize=True)
    policy = make_expert(env)
    params = {**env.unwrapped.param_space.nominal(), "actuation.latency_s": 0.01}
    for seed in range(2):
        obs, _ = env.reset(seed=seed, options={"params": params})
        bonus, done = 0.0, False
        while not done:
            obs, _, terminated, truncated, info = env.step(policy(obs))
            bonus += info["reward_terms"]["reached"]
            done = terminated or truncated
        assert info["targets_reached"] > 0 and bonus == REACH_BONUS * info["targets_reached"]
    env.close()


def test_observation_clips_to_honest_bounds(backend_name):
    env = make(backend_name)
    env.reset(seed=0)
    place(env, pos=(4.9, -4.9, 2.9), vel=(40.0, 0.0, 0.0), rates=(50.0, 0.0, 0.0))
    obs = env.unwrapped.task.observe(env.unwrapped.backend)
    assert env.observation_space.contains(obs)
    assert obs[12] == 30.0 and obs[15] == 35.0
    env.close()


# -- world builder -------------------------------------------------------------------------


def test_gate_courses_keep_their_guarantees():
    arena = Arena()
    rng = np.random.default_rng(0)
    for _ in range(100):
        course = draw_course(rng, n_gates=4, n_pillars=4, arena=arena)
        legs = course.legs()
        for (a, b), gate in zip(legs, course.gates):
            heading = (b - a)[:2] / np.linalg.norm((b - a)[:2])
            assert heading @ gate.normal[:2] == pytest.approx(1.0)  # each gate faces its incoming leg
            assert arena.gate_spacing_m[0] - 1e-9 <= np.linalg.norm((b - a)[:2]) <= arena.gate_spacing_m[1] + 1e-9
            assert max(abs(gate.center[0]), abs(gate.center[1])) < arena.half_xy_m
        for k, (a, b) in enumerate(legs):  # a leg keeps 1 m from every gate it does not join
            others = [g.center[:2] for j, g in enumerate(course.gates) if j not in (k - 1, k)]
            assert all(segment_distance(c, a[:2], b[:2]) >= 1.0 - 1e-9 for c in others)
        for x, y, radius in course.pillars:
            clearance = min(segment_distance(np.array([x, y]), a[:2], b[:2]) for a, b in legs) - radius
            assert clearance >= arena.pillar_clearance_m
        assert len(course.pillars) == 4
    assert len(draw_course(rng, n_gates=10, n_pillars=8).gates) == 10  # the largest options still fit


def test_resets_reuse_the_compiled_world(backend_name, monkeypatch):
    counts = {}
    for mission, options in (("hover", {}), ("waypoints", {}), ("gates", {"course_episodes": 3})):
        env = make(backend_name, mission=mission, **options).unwrapped
        env.reset(seed=0)
        compiled = []
        monkeypatch.setattr(env.backend, "compile", lambda scene, f=env.backend.compile: (compiled.append(1), f(scene)))
        for _ in range(6):
            env.reset()
        env.reset(seed=1)  # a new seed draws a new course
        counts[mission] = len(compiled)
        env.close()
    assert counts == {"hover": 0, "waypoints": 0, "gates": 3}


def test_seeded_episodes_replay_exactly(backend_name):
    def trajectory(env, seed):
        obs, _ = env.reset(seed=seed)
        env.action_space.seed(seed)
        out = [obs]
        for _ in range(60):
            obs, reward, terminated, truncated, _ = env.step(env.action_space.sample() * 0.2 + hover_action())
            out.append(np.append(obs, reward))
            if terminated or truncated:
                break
        return np.concatenate(out)

    options = dict(mission="gates", n_obstacles=2, gust_m_s=1.0, wind_m_s=2.0, course_episodes=4)
    a, b = make(backend_name, **options), make(backend_name, **options)
    first = trajectory(a, 7)
    trajectory(a, 8)
    assert np.array_equal(first, trajectory(b, 7)) and np.array_equal(first, trajectory(a, 7))
    a.close()
    b.close()


@pytest.mark.parametrize("options", [dict(mission="waypoints", action="ctbr"), dict(mission="gates", n_obstacles=3, gust_m_s=1.0)])
def test_env_checkers_and_space_over_random_steps(backend_name, options):
    from gymnasium.utils.env_checker import check_env as gym_check
    from stable_baselines3.common.env_checker import check_env as sb3_check

    env = make(backend_name, **options)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        gym_check(env.unwrapped, skip_render_check=True)
        sb3_check(env.unwrapped, warn=True)
    obs, _ = env.reset(seed=5)
    env.action_space.seed(5)
    for _ in range(500):
        assert env.observation_space.contains(obs)
        obs, _, terminated, truncated, info = env.step(env.action_space.sample())
        assert not info["physics_diverged"]
        if terminated or truncated:
            obs, _ = env.reset()
    env.close()


@pytest.mark.parametrize(
    "options, message",
    [
        (dict(mission="race"), r"mission must be one of \('hover', 'waypoints', 'gates'\)"),
        (dict(action="rpm"), r"action must be one of \('motors', 'ctbr'\)"),
        (dict(n_gates=0), r"n_gates must be an integer in \[1, 10\]"),
        (dict(wind_m_s=-1.0), r"wind_m_s must be a number in \[0.0, 15\]"),
        (dict(n_obstacles=2), "n_obstacles is for mission='gates' only"),
        (dict(params="cf2x"), "params must be a QuadrotorParams"),
    ],
)
def test_bad_options_are_named(options, message):
    with pytest.raises(ValueError, match=message):
        UAVTask(**options)


# -- the expert ------------------------------------------------------------------------------


def expert_success(backend_name: str, episodes: int, **options) -> float:
    env = make(backend_name, **options)
    policy = make_expert(env)
    wins = 0
    for seed in range(episodes):
        obs, _ = env.reset(seed=seed)
        done = False
        while not done:
            obs, _, terminated, truncated, info = env.step(policy(obs))
            done = terminated or truncated
        wins += info["is_success"]
    env.close()
    return wins / episodes


@pytest.mark.parametrize(
    "options", [dict(mission="hover"), dict(mission="waypoints", action="ctbr"), dict(mission="gates", n_obstacles=2)]
)
def test_expert_flies_every_mission(backend_name, options):
    assert expert_success(backend_name, 5, **options) >= 0.8


@pytest.mark.slow
@pytest.mark.parametrize("mission", ["hover", "waypoints", "gates"])
@pytest.mark.parametrize("action", ["motors", "ctbr"])
def test_expert_succeeds_in_90_percent_of_50_episodes(backend_name, mission, action):
    assert expert_success(backend_name, 50, mission=mission, action=action) >= 0.9


def test_set_param_takes_effect_before_any_use():
    """set_param defers rebuilding the rotors and the rate loop to their next use (a randomized
    reset sets several at once); what a caller sees right after is already the new model."""
    task = UAVTask()
    env = SimEnv(task)
    env.reset(seed=0)
    kf = task.params.motor.kf
    task.set_param("motor.kf", 2 * kf)
    assert np.allclose(task.motor_rpm, np.full(4, task.params.hover_rpm))  # the new, lower hover speed
    assert task.params.hover_rpm == pytest.approx(QuadrotorParams().hover_rpm / np.sqrt(2))
    env.reset(seed=0)
    assert np.allclose(task.motor_rpm, np.full(4, task.params.hover_rpm))
    env.close()
