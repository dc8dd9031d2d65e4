"""Calibration (issue 7): rollout files, state replay, and a CMA-ES fit against a hidden-parameter proxy."""

from __future__ import annotations

import dataclasses
import json

import gymnasium
import numpy as np
import pytest

import simsuite  # noqa: F401
from simsuite.agents.experts import make_expert
from simsuite.calibration import Rollout, RolloutError, load_rollout, load_rollouts
from simsuite.calibration.collect import collect
from simsuite.calibration.dropo import Transitions, WorldCache, fit_cmaes, predict
from simsuite.calibration.excitation import experiment, make_uav_circle
from simsuite.calibration.localize import fd_steps, least_squares
from simsuite.calibration.report import one_step_error, trajectory_error
from simsuite.calibration.simopt import Segments, fit_simopt


def _rollout(**changes) -> Rollout:
    t = np.arange(6) * 0.02
    fields = dict(env_id="SimSuite/UAV-v0", t_s=t, obs=np.zeros((6, 3)), actions=np.zeros((5, 2)), params={"motor.kf": 3e-10})
    fields.update(changes)
    return Rollout(**fields)


def test_rollout_round_trip_and_validation(tmp_path):
    r = _rollout(states=np.ones((6, 4)), meta={"source": "proxy:hidden"})
    path = r.save(tmp_path / "a.npz")
    back = load_rollout(path, "SimSuite/UAV-v0")
    np.testing.assert_array_equal(back.obs, r.obs)
    assert back.params == r.params and back.meta["source"] == "proxy:hidden" and back.states.shape == (6, 4)
    dict_obs = _rollout(obs={"state": np.zeros((6, 3)), "imu": np.zeros((6, 6), np.float32)}).save(tmp_path / "b.npz")
    assert set(load_rollout(dict_obs).obs) == {"state", "imu"}
    assert len(load_rollouts(tmp_path)) == 2


@pytest.mark.parametrize("changes, message", [
    (dict(t_s=np.array([0.0, 0.02, 0.02, 0.06, 0.08, 0.1])), "increase strictly"),
    (dict(actions=np.zeros((4, 2))), "actions must have shape"),
    (dict(obs=np.zeros((5, 3))), "must have 6 rows"),
    (dict(obs=np.full((6, 3), np.nan)), "NaN or inf"),
    (dict(actions=np.array([[0.0, np.inf]] * 5)), "NaN or inf"),
    (dict(env_id=""), "env_id"),
])
def test_bad_rollouts_are_clear_errors(changes, message):
    with pytest.raises(RolloutError, match=message):
        _rollout(**changes)


def test_corrupted_truncated_and_mismatched_files(tmp_path):
    path = _rollout().save(tmp_path / "good.npz")
    data = path.read_bytes()
    (tmp_path / "trunc.npz").write_bytes(data[: len(data) // 2])
    with pytest.raises(RolloutError, match="truncated or corrupted"):
        load_rollout(tmp_path / "trunc.npz")
    with pytest.raises(RolloutError, match="expected 'SimSuite/Nav-v0'"):
        load_rollout(path, "SimSuite/Nav-v0")
    np.savez(tmp_path / "plain.npz", t_s=np.arange(3.0))
    with pytest.raises(RolloutError, match="no meta.json"):
        load_rollout(tmp_path / "plain.npz")
    meta = json.dumps({"format": "other/9"}).encode()
    np.savez(tmp_path / "fmt.npz", **{"meta.json": np.frombuffer(meta, np.uint8)})
    with pytest.raises(RolloutError, match="format 'other/9'"):
        load_rollout(tmp_path / "fmt.npz")
    with pytest.raises(RolloutError, match="does not exist"):
        load_rollout(tmp_path / "missing.npz")


@pytest.mark.parametrize("env_id, latency_s", [("SimSuite/UAV-v0", 0.0), ("SimSuite/UAV-v0", 0.012), ("SimSuite/UAV-v0", 0.0326),
                                              ("SimSuite/UAV-v0", 0.04), ("SimSuite/Drive-v0", 0.03)])
def test_env_state_replays_exactly(backend_name, env_id, latency_s):
    """Reset to a recorded state and replay the actions: the same observations."""
    env = gymnasium.make(env_id, backend=backend_name)
    (rollout,) = collect(env, make_expert, 1, 40, seed=3, params={"actuation.latency_s": latency_s}, noise=0.02)
    env.reset(seed=3, options={"params": {"actuation.latency_s": latency_s}})  # the rollout's world
    env.unwrapped.set_state(rollout.states[20])
    replay = [env.step(a)[0] for a in rollout.actions[20:]]
    np.testing.assert_array_equal(np.array(replay), rollout.obs[21:])
    env.close()


def _uav_proxy():
    """UAV-v0 with thrust coefficient 25 % low and 30 ms latency, hidden: 2 expert flights."""
    make = lambda: gymnasium.make("SimSuite/UAV-v0")  # noqa: E731
    env = make()
    prior = env.unwrapped.param_space
    names = ["motor.kf", "actuation.latency_s"]
    truth = {"motor.kf": prior["motor.kf"].nominal * 0.75, "actuation.latency_s": 0.03}
    data = collect(env, make_expert, 2, 100, seed=1, params=truth, noise=0.02, source="proxy:hidden")
    return make, env, prior, names, truth, data


def test_cmaes_fit_moves_toward_the_hidden_truth():
    """A short fit (2 parameters, few generations) on a hidden-parameter proxy: the fitted
    means predict the proxy's transitions better than nominal, and land near the truth."""
    make, env, prior, names, truth, data = _uav_proxy()
    result = fit_cmaes(make, data, prior, names, seed=0, workers=2, k_samples=2, generations=16, popsize=8, every=4)
    check = Transitions.from_rollouts(data, every=4)
    nominal = {n: prior[n].nominal for n in names}
    assert one_step_error(env, names, result.mean, check) < 0.5 * one_step_error(env, names, nominal, check)
    assert abs(result.mean["motor.kf"] / truth["motor.kf"] - 1) < 0.1, result.mean
    assert abs(result.mean["actuation.latency_s"] - 0.03) < 0.01, result.mean
    assert result.space()["motor.kf"].dist == "truncnormal"


def test_simopt_fit_recovers_hidden_parameters_from_trajectories():
    """SimOpt: CMA-ES from the trajectory least-squares fit, on the trajectory discrepancy of
    re-synchronized 10-step segments. The fitted means land near the truth, replay the proxy's
    trajectories far more closely than nominal, and the discrepancy's slice across the prior
    narrows both."""
    make, env, prior, names, truth, data = _uav_proxy()
    result = fit_simopt(make, data, prior, names, segment_steps=10, seed=0, workers=2, k_samples=2, generations=8, popsize=8)
    nominal = {n: prior[n].nominal for n in names}
    assert trajectory_error(env, result.mean, data, 10) < 0.1 * trajectory_error(env, nominal, data, 10)
    assert abs(result.mean["motor.kf"] / truth["motor.kf"] - 1) < 0.05, result.mean
    assert abs(result.mean["actuation.latency_s"] - 0.03) < 0.005, result.mean
    assert all(result.identifiable(n) for n in names), result.likelihood_share
    replayed = sum(len(a) for a in Segments.from_rollouts(data, 10).actions)  # whole 10-step segments
    assert result.sim_steps > (result.evaluations * 2 + 2 * 9) * replayed  # and the least-squares start


def test_rollouts_without_states_replay_whole_from_their_seeded_reset():
    """A real robot's rollout has no simulator states: trajectory replays start from the env's
    reset with the rollout's seed and run it whole (exact under the true parameters, drifting
    further than re-synchronized segments under wrong ones); DROPO says it needs states."""
    env = gymnasium.make("SimSuite/UAV-v0")
    kf = env.unwrapped.param_space["motor.kf"].nominal
    truth = {"motor.kf": kf * 0.8}
    data = collect(env, make_expert, 1, 40, seed=4, params=truth, noise=0.02)
    stateless = [dataclasses.replace(r, states=None) for r in data]
    segments = Segments.from_rollouts(stateless, 10)
    assert segments.starts == [None] and segments.actions[0].shape[0] == 40
    assert trajectory_error(env, truth, stateless, 10) == 0.0
    assert trajectory_error(env, {"motor.kf": kf}, stateless, 10) > trajectory_error(env, {"motor.kf": kf}, data, 10) > 1e-3
    with pytest.raises(ValueError, match="has no states"):
        Transitions.from_rollouts(stateless)


@pytest.mark.parametrize("method", ["cmaes", "simopt"])
def test_calibrate_cli_writes_a_fitted_space_that_randomize_reads(tmp_path, method):
    from typer.testing import CliRunner

    from simsuite.cli import app

    out = tmp_path / "cal"
    result = CliRunner().invoke(app, ["calibrate", "SimSuite/UAV-v0", "--rollouts", "1", "--seconds", "1", "--generations", "2",
                                      "--params", "motor.kf", "--workers", "1", "--method", method, "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert {"fitted.yaml", "report.md", "convergence.png", "marginals.png", "trajectories.png", "result.json"} <= {p.name for p in out.iterdir()}
    assert "![trajectories](trajectories.png)" in (out / "report.md").read_text()
    assert "PROXY" in (out / "report.md").read_text()
    assert ("SimOpt" in (out / "report.md").read_text()) == (method == "simopt")
    env = gymnasium.make("SimSuite/UAV-v0", randomize=str(out / "fitted.yaml"))
    _, info = env.reset(seed=0)
    assert set(info["params"]) == set(env.unwrapped.param_space.names)
    assert len(load_rollouts(out / "rollouts", "SimSuite/UAV-v0")) == 1


def test_npe_posterior_narrows_the_identifiable_parameter():
    """A small sbi NPE run (1,000 simulations, the least-squares localization included,
    score-compressed summaries, the proxy's own sensor-noise model): the thrust coefficient's
    posterior is much narrower than its prior and its 98 % interval holds the hidden truth."""
    pytest.importorskip("sbi")
    from simsuite.calibration.npe import fit_npe

    make = lambda: gymnasium.make("SimSuite/UAV-v0")  # noqa: E731
    env = make()
    prior = env.unwrapped.param_space
    truth = {"motor.kf": prior["motor.kf"].nominal * 1.2}
    data = collect(env, make_expert, 2, 100, seed=2, params={**truth, "observation.noise_std": 0.005}, noise=0.02)
    post = fit_npe(make, data, prior, ["motor.kf"], dims=list(range(12, 18)), noise={"observation.noise_std": 0.005},
                   simulations=1000, rounds=1, k_transitions=8, seed=0, workers=2, ensemble=1)
    low, high = post.interval("motor.kf", 0.98)
    assert low <= truth["motor.kf"] <= high, (low, high, truth)
    assert post.width_ratio("motor.kf") < 0.3


def test_portable_states_replay_across_engines():
    """Engine-neutral states: a PyBullet rollout restores into MuJoCo; a free-flying quadrotor
    (same forces, no contact) then predicts the same next observations on both engines."""
    pb = gymnasium.make("SimSuite/UAV-v0", backend="pybullet")
    data = collect(pb, make_expert, 1, 40, seed=5, portable=True)
    assert data[0].meta["env_state_layout"] == "portable"
    tr = Transitions.from_rollouts(data, every=1)
    mj = gymnasium.make("SimSuite/UAV-v0")
    np.testing.assert_allclose(predict(mj.unwrapped, [], np.zeros(0), tr), tr.next_obs, atol=1e-5)


def test_world_cache_replays_grasp_worlds_exactly():
    """One env per rollout seed: after the world is built once, unseeded resets under other
    parameters keep it, and restored states (the target object included) replay exactly."""
    env = gymnasium.make("SimSuite/Grasp-v0")
    truth = {"object.mass_kg": 0.13, "object.friction": 0.5}
    data = collect(env, make_expert, 2, 12, seed=7, params=truth, noise=0.02)
    tr = Transitions.from_rollouts(data, every=2, skip=1)
    worlds = WorldCache(lambda: gymnasium.make("SimSuite/Grasp-v0"))
    names = list(truth)
    predict(worlds, names, np.array([0.05, 0.9]), tr)
    np.testing.assert_array_equal(predict(worlds, names, np.array(list(truth.values())), tr), tr.next_obs)
    assert len(worlds.envs) == 2


def test_trajectory_error_is_zero_for_the_true_simulator():
    """Open-loop segment replays of a noise-free rollout: exact under its own parameters,
    off under others."""
    env = gymnasium.make("SimSuite/UAV-v0")
    truth = {"motor.kf": env.unwrapped.param_space["motor.kf"].nominal * 0.8}
    data = collect(env, make_expert, 1, 40, seed=4, params=truth, noise=0.02)
    assert trajectory_error(env, truth, data, 10) == 0.0
    assert trajectory_error(env, {"motor.kf": truth["motor.kf"] / 0.8}, data, 10) > 1e-3


def _horizontal_speed_rms(rollout: Rollout) -> float:
    return float(np.sqrt(np.mean(np.sum(rollout.obs[:, 12:14] ** 2, axis=1))))


def test_uav_experiment_excites_drag(backend_name):
    """The designed UAV experiment (a figure eight around the hover target) flies at
    drag-revealing speeds; the hover expert barely moves. (The eight sometimes dips to the
    floor late in a rollout: most of the 5 s must still be flown.)"""
    env = gymnasium.make("SimSuite/UAV-v0", backend=backend_name)
    noise = {"observation.noise_std": 0.005}
    eight = collect(env, experiment(0), 3, 250, seed=11, params=noise, noise=0.02)
    hover = collect(env, make_expert, 3, 250, seed=11, params=noise, noise=0.02)
    assert sum(r.steps for r in eight) >= 0.8 * 750, [r.steps for r in eight]
    speed = [np.median([_horizontal_speed_rms(r) for r in rollouts]) for rollouts in (eight, hover)]
    assert speed[0] > 1.2 > 2 * speed[1], speed


def test_thrust_trim_flies_an_underpowered_airframe():
    """Mass +30 % and kf −30 %: the nominal expert cannot hold it up (it reaches the floor
    within 2 s); the experiment's thrust trim finds the real thrust per mass (0.54 of nominal)
    and flies the whole eight."""
    env = gymnasium.make("SimSuite/UAV-v0")
    prior = env.unwrapped.param_space
    params = {"quadrotor.mass_kg": 1.3 * prior["quadrotor.mass_kg"].nominal, "motor.kf": 0.7 * prior["motor.kf"].nominal}
    (hover,) = collect(env, make_expert, 1, 250, seed=4, params=params, noise=0.0)
    assert hover.steps < 100
    obs, _ = env.reset(seed=4, options={"params": params})
    policy = make_uav_circle(env, np.random.default_rng(0))
    for _ in range(250):
        obs, _, terminated, truncated, info = env.step(policy(obs))
        assert not (terminated or truncated), info["crash"]
    assert policy.trim.ratio == pytest.approx(0.7 / 1.3, rel=0.1)


def test_least_squares_finds_the_latency_level_and_thrust():
    """The warm start of CMA-ES and the box of NPE: on noise-free proxy data the least-squares
    fit lands on the true latency level (35 ms for 32.6: latency acts in 5 ms physics steps)
    and within 1 % of the true kf."""
    make = lambda: gymnasium.make("SimSuite/UAV-v0")  # noqa: E731
    env = make()
    prior = env.unwrapped.param_space
    names = ["motor.kf", "actuation.latency_s"]
    truth = {"motor.kf": 1.25 * prior["motor.kf"].nominal, "actuation.latency_s": 0.0326}
    tr = Transitions.from_rollouts(collect(env, experiment(3), 2, 60, seed=3, params=truth, noise=0.02), every=2)
    lows, highs = prior.subset(names).bounds()
    steps, quantized = fd_steps(make, names, lows, highs)
    assert quantized == [1] and steps[1] == pytest.approx(env.unwrapped.physics_dt_s / 0.04)
    worlds = WorldCache(make)
    fit = least_squares(lambda points: [predict(worlds, names, lows + p * (highs - lows), tr).ravel() for p in points],
                        tr.next_obs.ravel(), steps, quantized=quantized)
    kf, latency_s = lows + fit.center * (highs - lows)
    assert kf == pytest.approx(truth["motor.kf"], rel=0.01)
    assert abs(latency_s - 0.035) <= 0.0025, latency_s


def test_latency_samples_fill_their_physics_step():
    """Latency acts in whole physics steps, so its posterior is flat within each: NPE samples
    keep their level and fill it uniformly (clipped to the prior)."""
    from simsuite.calibration.npe import spread_over_levels

    rng = np.random.default_rng(0)
    values = np.r_[np.full(5000, 0.0301), np.full(5000, 0.0004)]
    out = spread_over_levels(values, 0.005, 0.0, 0.04, rng)
    high, low = out[:5000], out[5000:]
    assert high.min() >= 0.0275 and high.max() < 0.0325 and np.quantile(high, 0.95) > 0.032
    assert low.min() >= 0.0 and low.max() < 0.0025


def test_hpd_interval_reaches_the_edge_a_central_one_cuts():
    """A posterior cut by the prior's edge (density rising to it): the highest-density interval
    runs to the edge, where the central one drops the outer 5 % and a truth near the edge with
    it; it is also the shorter. A flat posterior keeps 90 % of the prior either way."""
    from simsuite.calibration.npe import Posterior, hpd_interval

    rng = np.random.default_rng(0)
    rising = np.sqrt(rng.uniform(size=20_000))  # density 2u on [0, 1]
    low, high = hpd_interval(rising, 0.9)
    c_low, c_high = np.quantile(rising, [0.05, 0.95])
    assert high > 0.999 and c_high < 0.98 and high - low < c_high - c_low
    flat = rng.uniform(size=20_000)
    assert np.diff(hpd_interval(flat, 0.9))[0] == pytest.approx(0.9, abs=0.01)
    post = Posterior(["a"], np.array([0.0]), np.array([1.0]), rising[:, None], 0, 0.0)
    assert post.interval("a") == (low, high) and post.interval("a", kind="central") == pytest.approx((c_low, c_high))
    assert post.interval_share("a") == pytest.approx(high - low)
    with pytest.raises(ValueError, match="'hpd' or 'central'"):
        post.interval("a", kind="equal-tailed")
    with pytest.raises(ValueError, match="level"):
        hpd_interval(flat, 1.5)


def test_npe_flow_keeps_a_flat_posterior_flat_to_the_edges():
    """The flow works on the box mapped to the real line: for a parameter the data say nothing
    about, the posterior stays about as wide as the prior, with as much mass near the edges as
    in the middle (on the box itself it bulged toward the middle and its interval missed
    truths near the edges); the parameter the data do measure is narrow."""
    pytest.importorskip("sbi")
    import torch
    from sbi.utils import BoxUniform

    from simsuite.calibration.npe import _train

    rng = np.random.default_rng(0)
    theta = rng.uniform(size=(1500, 2))
    x = np.c_[theta[:, 0] + 0.02 * rng.standard_normal(1500), rng.standard_normal(1500)]  # only θ0 shows
    box = BoxUniform(torch.zeros(2), torch.ones(2))
    torch.set_num_threads(1)
    post = _train(box, torch.tensor(theta, dtype=torch.float32), x, seed=0, ensemble=1)
    draws = post.sample((4000,), x=torch.tensor([0.5, 0.0]), show_progress_bars=False).numpy()
    assert draws[:, 0].std() < 0.05 and abs(np.median(draws[:, 0]) - 0.5) < 0.05
    counts = np.histogram(draws[:, 1], bins=10, range=(0, 1))[0]
    assert draws[:, 1].std() > 0.85 / np.sqrt(12) and counts[[0, -1]].min() > 0.6 * counts.mean(), counts


def test_drive_experiment_brakes_hard_and_weaves(backend_name):
    """The designed Drive-v0 experiment (the expert's lane keeping plus a steering slalom and
    a pedal swinging between full throttle and full braking) decelerates near the car's full
    braking and yaws both ways, where the expert drives gently; it stays on the road."""
    env = gymnasium.make("SimSuite/Drive-v0", backend=backend_name)
    slalom = collect(env, experiment(0), 2, 100, seed=5, noise=0.0)
    gentle = collect(env, make_expert, 2, 100, seed=5, noise=0.0)
    assert [r.steps for r in slalom] == [100, 100]

    def extremes(rollouts):
        obs = np.concatenate([np.diff(r.obs[:, [5, 7]], axis=0) for r in rollouts])
        yaw = np.concatenate([r.obs[:, 7] for r in rollouts])
        return obs[:, 0].min() / env.unwrapped.task.control_dt_s, yaw.min(), yaw.max()

    decel, yaw_low, yaw_high = extremes(slalom)
    assert decel < -5.0 and yaw_low < -0.2 < 0.2 < yaw_high, (decel, yaw_low, yaw_high)
    assert extremes(gentle)[0] > -3.0


def test_identifiability_comes_from_the_laplace_width_when_known():
    """A warm-started CMA-ES starts with narrow spreads that nothing widens where the data are
    silent, so identifiability is judged by the least-squares start's Laplace width."""
    from simsuite.calibration.dropo import FitResult

    prior = gymnasium.make("SimSuite/Drive-v0").unwrapped.param_space
    width = prior["tyre.friction"].high - prior["tyre.friction"].low
    narrow = {"tyre.friction": 0.001}
    silent = FitResult(["tyre.friction"], {"tyre.friction": 1.0}, narrow, prior, laplace_std={"tyre.friction": 0.4 * width})
    assert silent.laplace_ratio("tyre.friction") == pytest.approx(0.4 * np.sqrt(12))
    assert not silent.identifiable("tyre.friction")
    assert FitResult(["tyre.friction"], {"tyre.friction": 1.0}, narrow, prior).identifiable("tyre.friction")


def test_grid_start_finds_a_narrow_basin_a_descent_from_the_centre_misses():
    """A jagged cost (as contact-rich Grasp replays have): a narrow basin around the truth and
    a wide local one at the prior's centre. Levenberg-Marquardt from the centre stays in the
    local one; started from the best of a 9-point grid, it finds the truth. The likelihood
    slice then rules out most of the prior for the parameter the data see and none of it
    for the one they do not."""
    from simsuite.calibration.localize import likelihood_share

    truth = 0.27

    def f(p: np.ndarray) -> np.ndarray:
        near = np.exp(-((p[0] - truth) / 0.05) ** 2)
        local = 1.0 - 0.5 * np.exp(-((p[0] - 0.6) / 0.3) ** 2)  # a wide dip to 0.5 at 0.6
        return np.array([(1.0 - near) * local + 0.0 * p[1]])  # 0 only at the truth; p[1] unseen

    predict = lambda points: [f(p) for p in points]  # noqa: E731
    target, steps = np.array([0.0]), np.array([0.02, 0.02])
    assert abs(least_squares(predict, target, steps).center[0] - 0.6) < 0.05
    fit = least_squares(predict, target, steps, grid=9)
    assert fit.center[0] == pytest.approx(truth, abs=0.01)
    share = likelihood_share(predict, target, fit.center, noise_std=0.05)
    assert share[0] < 0.5 and share[1] == 1.0
