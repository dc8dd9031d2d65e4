"""The simsuite command, through typer's test runner."""

from typer.testing import CliRunner

from simsuite.cli import app


def test_list_run_and_demo():
    runner = CliRunner()
    listed = runner.invoke(app, ["list"])
    assert listed.exit_code == 0 and "SimSuite/Nav-v0" in listed.output
    run = runner.invoke(app, ["run", "SimSuite/Pendulum-v0", "--backend", "pybullet", "--episodes", "1"])
    assert run.exit_code == 0 and "yes" in run.output
    demo = runner.invoke(app, ["experts", "--env-id", "SimSuite/Pendulum-v0", "--episodes", "1"])
    assert demo.exit_code == 0 and "100%" in demo.output
    bad = runner.invoke(app, ["run", "SimSuite/Nope-v0"])
    assert bad.exit_code != 0


def test_demo_quick_runs_the_whole_loop(tmp_path):
    """`simsuite demo --quick`: proxy rollouts, calibration, tuning, evaluation, report."""
    out = tmp_path / "demo"
    result = CliRunner().invoke(app, ["demo", "--quick", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert {"report.md", "transfer.png", "summary.json", "proxy_0"} <= {p.name for p in out.iterdir()}
    one = out / "proxy_0"
    assert {"report.md", "fitted.yaml", "summary.json", "calibration", "rollouts", "calibrated_on_proxy.mp4"} <= {p.name for p in one.iterdir()}
    report = (one / "report.md").read_text()
    assert "PROXY" in report and "| calibrated |" in report and "| nominal |" in report
    assert (one / "calibrated_on_proxy.mp4").stat().st_size > 10_000
    overview = (out / "report.md").read_text()
    assert "| calibrated |" in overview and "| 0 | " in overview and " ms |" in overview  # the proxy's hidden parameters


def test_demo_jobs_run_proxy_realities_in_processes(tmp_path):
    """`--jobs 2`: each proxy reality runs in its own process and comes back as its summary."""
    import gymnasium
    from rich.console import Console

    from simsuite.agents.demo import ENV_ID, SETTINGS, _parallel_instances, proxy_reality

    tiny = dict(SETTINGS["quick"], rollouts=2, fit_generations=2, tune_generations=1, tune_samples=2, episodes=2)
    runs = _parallel_instances(tmp_path, tiny, [0, 1], 0, 2, Console(quiet=True))
    env = gymnasium.make(ENV_ID)
    for seed, run in zip([0, 1], runs):
        assert run["seed"] == seed and run["truth"] == proxy_reality(env.unwrapped.param_space, seed)[0]
        assert set(run["results"]) == {"nominal", "wide uniform", "calibrated"}
        assert (tmp_path / f"proxy_{seed}" / "report.md").is_file()
    env.close()


def test_calibrate_against_the_other_engine_with_hidden_parameters(tmp_path):
    """`simsuite calibrate --proxy backend-hidden`: PyBullet with drawn parameters is the
    reality of the MuJoCo model; its rollouts are labelled, in engine-neutral states, and the
    report holds the truth beside the fit. A bad proxy name is a clear error."""
    import json

    from simsuite.calibration import load_rollouts

    out = tmp_path / "cross"
    args = ["calibrate", "SimSuite/UAV-v0", "--proxy", "backend-hidden", "--rollouts", "1", "--seconds", "1",
            "--generations", "2", "--workers", "1", "--params", "quadrotor.mass_kg,motor.kf", "--out", str(out)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    saved = json.loads((out / "result.json").read_text())
    assert set(saved["truth"]) == {"quadrotor.mass_kg", "motor.kf"} and set(saved["mean"]) == set(saved["truth"])
    rollout = load_rollouts(out / "rollouts", "SimSuite/UAV-v0")[0]
    assert rollout.meta["source"] == "proxy:backend-hidden" and rollout.meta["backend"] == "pybullet"
    assert rollout.meta["env_state_layout"] == "portable"
    assert rollout.params["quadrotor.mass_kg"] == saved["truth"]["quadrotor.mass_kg"]
    bad = CliRunner().invoke(app, ["calibrate", "SimSuite/UAV-v0", "--proxy", "nope", "--out", str(tmp_path / "bad")])
    assert bad.exit_code != 0 and "unknown proxy" in bad.output
