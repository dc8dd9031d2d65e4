"""Training and evaluation: a smoke training that saves, reloads and evaluates on nominal,
randomized and proxy-reality targets, the statistics, and the CLI with tiny budgets."""

from __future__ import annotations

import functools
import json

import numpy as np
import pytest

pytest.importorskip("stable_baselines3")

from typer.testing import CliRunner  # noqa: E402

from simsuite.agents.evaluate import bootstrap_interval, evaluate, load_params, wilson_interval  # noqa: E402
from simsuite.agents.train import load_config, load_policy, make_env, make_vec_env, train  # noqa: E402
from simsuite.calibration.rollouts import load_rollouts  # noqa: E402
from simsuite.cli import app  # noqa: E402
from simsuite.randomization import ParamSpace  # noqa: E402

TINY_PPO = {
    "algo": "PPO", "env_kwargs": {"mission": "hover"}, "normalize": {"obs": True, "reward": True},
    "policy_kwargs": {"net_arch": [16, 16], "activation_fn": "tanh"},
    "algo_kwargs": {"n_steps": 256, "batch_size": 128, "n_epochs": 2}, "checkpoint_every": 512,
    "workers": 2,  # 4 envs in 2 worker processes (GroupedSubprocVecEnv)
}


def test_train_save_reload_evaluate(tmp_path):
    import gymnasium

    import simsuite  # noqa: F401

    probe = gymnasium.make("SimSuite/UAV-v0")
    wide = probe.unwrapped.param_space.subset(["quadrotor.mass_kg", "motor.kf", "actuation.latency_s"])
    probe.close()
    space_file = wide.save(tmp_path / "wide.yaml")
    run = train("SimSuite/UAV-v0", TINY_PPO, randomize=space_file, timesteps=1024, seed=3, out_dir=tmp_path / "run",
                n_envs=4, progress=False)
    meta = json.loads((run / "run.json").read_text())
    assert meta["num_timesteps"] >= 1024 and meta["randomize"] == "randomize.yaml"
    assert (meta["n_envs"], meta["workers"]) == (4, 2)
    assert ParamSpace.load(run / "randomize.yaml").names == wide.names
    assert (run / "checkpoints" / "step_512" / "model.zip").is_file()
    assert (run / "logs" / "progress.csv").is_file() and (run / "normalize.npz").is_file()

    policy = load_policy(run)
    nominal = evaluate(policy, episodes=3, rollouts_dir=tmp_path / "nominal")
    randomized = evaluate(policy, episodes=3, randomize=run / "randomize.yaml", rollouts_dir=tmp_path / "rand")
    hidden = {"quadrotor.mass_kg": 0.035, "motor.kf": wide["motor.kf"].nominal * 1.2}
    proxy = evaluate(policy, episodes=2, params=hidden, rollouts_dir=tmp_path / "proxy", video=tmp_path / "proxy.mp4",
                     camera="chase:quadrotor")
    for result, target in ((nominal, "nominal"), (randomized, "randomized"), (proxy, "proxy")):
        s = result.summary()
        assert s["target"] == target and s["episodes"] == len(result.rollouts)
        lo, hi = s["success_ci95"]
        assert 0.0 <= lo <= s["success_rate"] <= hi <= 1.0
    # same seeds, same policy, same nominal target: the same returns
    assert evaluate(policy, episodes=3).returns == pytest.approx(nominal.returns)
    r = load_rollouts(tmp_path / "proxy", "SimSuite/UAV-v0")[0]
    assert r.obs.shape == (r.steps + 1, 22) and r.actions.shape == (r.steps, 4) and len(r.states) == r.steps + 1
    assert np.allclose(np.diff(r.t_s), 0.02) and r.meta["source"] == "sim:proxy"
    assert r.params["quadrotor.mass_kg"] == pytest.approx(0.035) and r.params["motor.kf"] == pytest.approx(hidden["motor.kf"])
    assert set(load_rollouts(randomized.rollouts[:1])[0].params) == set(wide.names)
    assert proxy.video and (tmp_path / "proxy.mp4").stat().st_size > 1000


def test_grouped_workers_step_like_envs_in_this_process():
    """5 envs in 2 worker processes give exactly what the same 5 envs in this process give:
    observations, rewards, dones, terminal observations across auto-resets; attribute and
    method calls reach the right env; a worker's error is raised here and the pipes stay in step."""
    from stable_baselines3.common.monitor import Monitor

    from simsuite.agents.vec_env import GroupedSubprocVecEnv

    env_fn = functools.partial(make_env, "SimSuite/UAV-v0", {"mission": "hover", "action": "ctbr"}, monitor=True)
    grouped, local = make_vec_env(env_fn, 5, "subproc", workers=2), make_vec_env(env_fn, 5, "dummy")
    try:
        assert isinstance(grouped, GroupedSubprocVecEnv) and [len(g) for g in grouped.groups] == [2, 3]
        grouped.seed(7)
        local.seed(7)
        assert np.array_equal(grouped.reset(), local.reset())
        rng, ends = np.random.default_rng(0), 0
        for _ in range(120):  # wide random commands: episodes end (crashes) and auto-reset
            actions = rng.uniform(-1, 1, (5, 4)).astype(np.float32)
            (obs_g, rew_g, done_g, info_g), (obs_l, rew_l, done_l, info_l) = grouped.step(actions), local.step(actions)
            assert np.array_equal(obs_g, obs_l) and np.allclose(rew_g, rew_l) and np.array_equal(done_g, done_l)
            for a, b in zip(info_g, info_l):
                assert a.keys() == b.keys() and a.get("TimeLimit.truncated") == b.get("TimeLimit.truncated")
                if "terminal_observation" in a:
                    ends += 1
                    assert np.array_equal(a["terminal_observation"], b["terminal_observation"])
        assert ends > 0
        assert grouped.env_is_wrapped(Monitor) == [True] * 5
        assert grouped.env_method("get_episode_rewards", indices=[4, 0]) == local.env_method("get_episode_rewards", indices=[4, 0])
        assert not grouped.has_attr("no_such_attribute") and grouped.has_attr("spec")
        with pytest.raises(AttributeError):
            grouped.get_attr("no_such_attribute")
        assert [s.id for s in grouped.get_attr("spec", [1, 2])] == ["SimSuite/UAV-v0"] * 2
    finally:
        grouped.close()
        local.close()
    with pytest.raises(ValueError, match="workers"):
        make_vec_env(env_fn, 2, "subproc", workers=3)


def test_statistics():
    assert wilson_interval(0, 10) == pytest.approx((0.0, 0.2775), abs=1e-4)
    assert wilson_interval(5, 10) == pytest.approx((0.2366, 0.7634), abs=1e-4)
    assert wilson_interval(10, 10)[1] == pytest.approx(1.0)
    lo, hi = bootstrap_interval(np.arange(100.0))
    assert lo < 49.5 < hi and hi - lo < 15


def test_configs_and_params_files(tmp_path):
    for env_id in ("SimSuite/UAV-v0", "SimSuite/Nav-v0", "SimSuite/Grasp-v0"):
        assert load_config(None, env_id)["algo"] in ("PPO", "SAC")
    assert load_config("uav_sac")["algo"] == "SAC"
    with pytest.raises(ValueError, match="unknown config key"):
        load_config({"algo": "PPO", "learning_rate": 1e-3})
    with pytest.raises(ValueError, match="vec_env"):
        load_config({"vec_env": "threads"})
    with pytest.raises(ValueError, match="workers"):
        load_config({"workers": 0})
    with pytest.raises(FileNotFoundError, match="uav_sac"):
        load_config("no_such_config")
    (tmp_path / "flat.yaml").write_text("motor.kf: 3.0e-10\nquadrotor.mass_kg: 0.03\n")
    (tmp_path / "space.yaml").write_text("params:\n  motor.kf: {dist: uniform, low: 1.0e-10, high: 5.0e-10, nominal: 3.0e-10}\n")
    assert load_params(tmp_path / "flat.yaml") == {"motor.kf": 3.0e-10, "quadrotor.mass_kg": 0.03}
    assert load_params(tmp_path / "space.yaml") == {"motor.kf": 3.0e-10}
    with pytest.raises(ValueError, match="motor.kf"):
        load_params({"motor.kf": [1, 2]})


def test_lidar_sectors():
    env = make_env("SimSuite/Nav-v0", {"obs": ["state", "lidar"]}, lidar_sectors=36)
    raw_env = make_env("SimSuite/Nav-v0", {"obs": ["state", "lidar"]}, flatten=False)
    obs, _ = env.reset(seed=0)
    raw, _ = raw_env.reset(seed=0)
    assert env.observation_space.shape == (31 + 36,) and obs.shape == (67,)
    # the flat vector is lidar then state (the Dict's key order); each sector is the nearest of its 10 beams
    assert np.allclose(obs[:36], raw["lidar"].reshape(36, 10).min(axis=1)) and np.allclose(obs[36:], raw["state"])
    with pytest.raises(ValueError, match="divide"):
        make_env("SimSuite/Nav-v0", {"obs": ["state", "lidar"]}, lidar_sectors=7)
    env.close()
    raw_env.close()


def test_cli_train_and_evaluate(tmp_path):
    config = tmp_path / "nav_tiny.yaml"
    config.write_text(
        "algo: PPO\nenv_kwargs: {obs: [state, lidar], goal_distance_m: [0.5, 1.0]}\nlidar_sectors: 36\n"
        "normalize: {obs: true}\npolicy_kwargs: {net_arch: [16]}\nalgo_kwargs: {n_steps: 128, batch_size: 64, n_epochs: 1}\n")
    (tmp_path / "hidden.yaml").write_text("params:\n  robot.mass_kg: 1.2\n")
    runner = CliRunner()
    trained = runner.invoke(app, ["train", "SimSuite/Nav-v0", "--config", str(config), "--timesteps", "256", "--n-envs", "1",
                                  "--out", str(tmp_path / "nav"), "--no-progress"])
    assert trained.exit_code == 0, trained.output
    assert "trained PPO on SimSuite/Nav-v0" in trained.output
    result = tmp_path / "eval.json"
    evaluated = runner.invoke(app, ["evaluate", str(tmp_path / "nav"), "--episodes", "2", "--params", str(tmp_path / "hidden.yaml"),
                                    "--rollouts", str(tmp_path / "rollouts"), "--out", str(result)])
    assert evaluated.exit_code == 0, evaluated.output
    data = json.loads(result.read_text())
    assert data["target"] == "proxy" and data["episodes"] == 2 and len(data["rollouts"]) == 2
    r = load_rollouts(data["rollouts"][:1], "SimSuite/Nav-v0")[0]
    assert r.obs["lidar"].shape == (r.steps + 1, 360) and r.obs["state"].shape == (r.steps + 1, 31)
    assert r.actions.shape == (r.steps, 2) and r.params == {"robot.mass_kg": pytest.approx(1.2)}
    bad = runner.invoke(app, ["train", "SimSuite/Nope-v0"])
    assert bad.exit_code != 0
    missing = runner.invoke(app, ["evaluate", str(tmp_path / "nope")])
    assert missing.exit_code != 0
