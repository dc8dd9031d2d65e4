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
    assert "| calibrated |" in (out / "report.md").read_text()
