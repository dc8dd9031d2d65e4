"""``simsuite calibrate``: real or proxy rollouts in, a fitted distribution and a report out."""

from __future__ import annotations

import json
from pathlib import Path

import gymnasium
import numpy as np
import typer
from rich.console import Console
from rich.progress import Progress

console = Console()
SENSOR_NOISE = {"observation.noise_std": 0.005}  # what the proxies add that no simulator space models
OBS_DIMS = {"SimSuite/UAV-v0": list(range(12, 18))}  # NPE summaries: velocity and body rates
# what the CMA-ES likelihood and the discrepancies compare (default: the whole observation):
# Drive-v0's vehicle state, without the clearance ring, whose rays jump where they graze a corner
FIT_DIMS = {"SimSuite/Drive-v0": list(range(13))}
METHODS = {  # --method: what the report says it did
    "cmaes": "CMA-ES over truncated-normal (μ, log σ), DROPO one-step likelihood",
    "simopt": "CMA-ES over truncated-normal (μ, log σ), SimOpt L1 + L2 trajectory discrepancy of re-synchronized segments",
    "npe": "sbi NPE on score-compressed one-step summaries, simulated in the least-squares fit's Laplace box",
}
DEFAULT_NAMES = {
    "SimSuite/UAV-v0": ["quadrotor.mass_kg", "motor.kf", "drag.xy_n_s_m", "actuation.latency_s"],
    "SimSuite/Drive-v0": ["tyre.friction", "ego.mass_kg", "steering.gain"],
    "SimSuite/Grasp-v0": ["object.mass_kg", "object.friction"],
    "SimSuite/Nav-v0": ["robot.mass_kg", "motor.gain", "actuation.latency_s"],
}


def npe_result(make_env, data, prior, names, seed, workers, simulations, progress):
    """NPE's posterior as a FitResult (mean, std), so the report and fitted.yaml are shared."""
    from simsuite.calibration.dropo import FitResult
    from simsuite.calibration.npe import fit_npe

    dims = OBS_DIMS.get(data[0].env_id, None) or list(range(data[0].obs_array().shape[1]))
    post = fit_npe(make_env, data, prior, names, dims=dims, noise=SENSOR_NOISE, simulations=simulations, seed=seed,
                   workers=workers, progress=progress)
    intervals = {n: post.interval(n) for n in names}
    history = [{"generation": 1, "best_loglik": float("nan"), "mean": post.mean(), "std": post.std()}]
    result = FitResult(names, post.mean(), post.std(), prior, history, post.simulations, post.simulations, post.wall_s)
    result.intervals = intervals
    return result


def calibrate(
    env_id: str = typer.Argument(..., help="a registered id, e.g. SimSuite/UAV-v0"),
    real: Path = typer.Option(None, help="folder or file of real rollouts (.npz, or .mcap bags from the ROS bridge)"),
    proxy: str = typer.Option("hidden", help="when no --real: 'hidden' (off-nominal twin, labelled proxy), 'backend' (the other engine) "
                              "or 'backend-hidden' (the other engine with hidden parameters)"),
    method: str = typer.Option("cmaes", help="cmaes (DROPO one-step likelihood), simopt (SimOpt trajectory discrepancy of "
                               "re-synchronized segments; rollouts without states replay whole) or npe (sbi neural posterior)"),
    simulations: int = typer.Option(800, help="npe: simulations in all (the least-squares localization included)"),
    params: str = typer.Option("", help="comma-separated parameter names to fit (default: the family's)"),
    backend: str = typer.Option("mujoco", help="the simulator being calibrated"),
    rollouts: int = typer.Option(5, min=1, help="proxy rollouts to collect"),
    seconds: float = typer.Option(5.0, help="proxy rollout length [s]"),
    generations: int = typer.Option(25, min=1),
    workers: int = typer.Option(0, help="worker processes (0: all cores)"),
    seed: int = typer.Option(0),
    out: Path = typer.Option(Path("runs/calibrate"), help="report folder"),
) -> None:
    """Fit the simulator's parameter distribution to real (or proxy-real) rollouts."""
    from simsuite.calibration import load_rollouts
    from simsuite.calibration.collect import collect, draw_hidden
    from simsuite.calibration.excitation import experiment
    from simsuite.calibration.dropo import Transitions, fit_cmaes
    from simsuite.calibration.report import one_step_error, plot_trajectories, trajectory_error, write_report
    from simsuite.calibration.simopt import fit_simopt

    if method not in METHODS:
        raise typer.BadParameter(f"unknown method {method!r}; available: {', '.join(METHODS)}")
    make_env = lambda: gymnasium.make(env_id, backend=backend)  # noqa: E731
    env = make_env()
    prior = env.unwrapped.param_space
    names = [n.strip() for n in params.split(",") if n.strip()] or DEFAULT_NAMES.get(env_id) or prior.numeric_names[:4]
    for name in names:
        prior[name]  # unknown names: a clear error now
    truth = None
    if real is not None:
        data = load_rollouts(real, env_id)
        label = f"{len(data)} real rollouts from {real}"
    else:
        steps = int(round(seconds / env.unwrapped.task.control_dt_s))
        rng = np.random.default_rng(seed)
        if proxy not in ("hidden", "backend", "backend-hidden"):
            raise typer.BadParameter(f"unknown proxy {proxy!r}; choose 'hidden', 'backend' or 'backend-hidden'")
        if proxy != "backend":
            truth = draw_hidden(prior, names, rng, 0.3, {"actuation.latency_s": (0.0, 0.04)})
        hidden = {**(truth or {}), **SENSOR_NOISE}
        # the other engine is recorded in engine-neutral states
        reality = env if proxy == "hidden" else gymnasium.make(env_id, backend="pybullet" if backend == "mujoco" else "mujoco")
        with Progress(console=console) as bar:
            task = bar.add_task(f"proxy reality ({proxy}): rollouts", total=rollouts)
            data = collect(reality, experiment(1000 + seed), rollouts, steps, seed=1000 + seed, params=hidden, noise=0.02,
                           source=f"proxy:{proxy}", progress=lambda k: bar.update(task, completed=k), portable=proxy != "hidden")
        label = f"{len(data)} PROXY rollouts ({proxy}{', hidden truth' if truth else ''}), {sum(r.steps for r in data)} steps"
        out.mkdir(parents=True, exist_ok=True)
        for k, r in enumerate(data):
            r.save(out / "rollouts" / f"proxy_{k:02d}.npz")
    dims = FIT_DIMS.get(env_id)  # None: the whole observation
    segment = max(1, min(int(round(0.5 / env.unwrapped.task.control_dt_s)), min(r.steps for r in data)))  # 0.5 s re-synchronized
    console.print(f"fitting {names} to {label}")
    with Progress(console=console) as bar:
        if method == "npe":
            task = bar.add_task("NPE simulations", total=simulations)
            result = npe_result(make_env, data, prior, names, seed, workers or None, simulations,
                                lambda k: bar.update(task, completed=k))
        elif method == "simopt":
            task = bar.add_task("CMA-ES generations (SimOpt)", total=generations)
            result = fit_simopt(make_env, data, prior, names, segment_steps=segment, seed=seed, workers=workers or None,
                                generations=generations, k_samples=3, dims=dims, obs_floor=0.005,
                                progress=lambda g, v: bar.update(task, completed=g))
        else:
            task = bar.add_task("CMA-ES generations", total=generations)
            result = fit_cmaes(make_env, data, prior, names, seed=seed, workers=workers or None, generations=generations,
                               k_samples=3, every=3, obs_floor=0.005, dims=dims, progress=lambda g, v: bar.update(task, completed=g))
    nominal = {n: prior[n].nominal for n in names}
    errors = {}
    if all(r.states is not None for r in data):  # one-step replays need the real states
        check = Transitions.from_rollouts(data, every=3)
        errors = {"nominal parameters": one_step_error(env, names, nominal, check, dims),
                  "fitted means": one_step_error(env, names, result.mean, check, dims)}
        if truth:
            errors["truth (proxy)"] = one_step_error(env, names, truth, check, dims)
    runs = {"nominal parameters": nominal, "fitted means": result.mean, **({"truth (proxy)": truth} if truth else {})}
    trajectory = {label: trajectory_error(env, {n: values[n] for n in names}, data, segment, dims) for label, values in runs.items()}
    report = write_report(out, env_id, result, truth, errors, {"data": label, "backend": backend, "seed": seed, "method": METHODS[method]})
    plot_trajectories(out / "trajectories.png", env, data[0], segment, runs, dims)
    with report.open("a") as f:  # the trajectory discrepancy, before and after
        f.write(f"\nTrajectory discrepancy (RMS, observation units; the real actions replayed open loop in {segment}-step segments, "
                "each restarted from the real state; a rollout without states whole, from its seeded reset):\n\n"
                + "".join(f"- {k}: {v:.5f}\n" for k, v in trajectory.items())
                + "\nThe first rollout, real against replayed (the entries nominal parameters miss most):\n\n"
                "![trajectories](trajectories.png)\n")
    console.print(report.read_text())
    (out / "result.json").write_text(json.dumps({"mean": result.mean, "std": result.std, "truth": truth, "errors": errors,
                                                  "trajectory_errors": trajectory, "wall_s": result.wall_s, "evaluations": result.evaluations}, indent=2))
    console.print(f"[bold]wrote[/bold] {out / 'fitted.yaml'} and {report}")
