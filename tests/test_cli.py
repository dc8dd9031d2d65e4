"""The simsuite command, through typer's test runner."""

from typer.testing import CliRunner

from simsuite.cli import app


def test_list_run_and_demo():
    runner = CliRunner()
    listed = runner.invoke(app, ["list"])
    assert listed.exit_code == 0 and "SimSuite/Nav-v0" in listed.output
    run = runner.invoke(app, ["run", "SimSuite/Pendulum-v0", "--backend", "pybullet", "--episodes", "1"])
    assert run.exit_code == 0 and "yes" in run.output
    demo = runner.invoke(app, ["demo", "--env-id", "SimSuite/Pendulum-v0", "--episodes", "1"])
    assert demo.exit_code == 0 and "100%" in demo.output
    bad = runner.invoke(app, ["run", "SimSuite/Nope-v0"])
    assert bad.exit_code != 0
