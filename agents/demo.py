"""SimSuite's main job (``simsuite demo``): the whole sim-to-real loop on a built-in default.

On UAV-v0 (hover) with a PROXY reality (a hidden-parameter twin: mass, thrust coefficient,
drag and motor latency drawn ±30 % / 0–40 ms off nominal, plus sensor noise; always labelled
proxy in the outputs):

1. collect rollouts on the proxy with the scripted expert (nominal model, exploration noise);
2. calibrate: CMA-ES fit of a truncated-normal distribution (DROPO likelihood), tune the
   controller on it, collect new rollouts with that controller and refit (``iterations``);
3. tune a controller for each distribution: nominal parameters, wide uniform randomization
   (the family's default space) and the fitted distribution (:mod:`simsuite.agents.tune_uav`);
   optionally (``--ppo-timesteps``) train a PPO policy on each with Stable-Baselines3;
4. evaluate each on the proxy reality (success with Wilson intervals, return);
5. write a report folder: ``report.md``, plots, a video of the calibrated controller flying
   the proxy, ``fitted.yaml`` and the proxy rollouts.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import gymnasium
import numpy as np
from rich.console import Console
from rich.progress import Progress

from simsuite.agents.evaluate import wilson_interval
from simsuite.agents.expert_uav import make_uav_expert
from simsuite.agents.experts import make_expert
from simsuite.agents.tune_uav import episode, tune
from simsuite.calibration.collect import collect, draw_hidden
from simsuite.calibration.dropo import Transitions, fit_cmaes
from simsuite.calibration.report import one_step_error, write_report
from simsuite.randomization import ParamSpace

ENV_ID = "SimSuite/UAV-v0"
NAMES = ["quadrotor.mass_kg", "motor.kf", "drag.xy_n_s_m", "actuation.latency_s"]
SENSOR_NOISE = {"observation.noise_std": 0.005}  # the proxy's, which no simulator space models
EVAL_SEED = 50_000  # the first evaluation episode's seed on the proxy (far from training's), for every row
SETTINGS = {  # proxy instances, rollouts, fit generations and stride, tuning budget, evaluation episodes
    "quick": dict(instances=1, iterations=1, rollouts=3, fit_generations=6, every=6, tune_generations=3, tune_samples=3, episodes=10),
    "default": dict(instances=3, iterations=1, rollouts=5, fit_generations=20, every=1, tune_generations=8, tune_samples=6, episodes=30),
}


def run_demo(out: Path, quick: bool = False, seed: int = 0, ppo_timesteps: int = 0, console: Console | None = None,
             iterations: int | None = None, jobs: int = 1) -> dict[str, Any]:
    """The loop on ``instances`` proxy realities (1 with ``quick``, else 3: seeds ``seed``,
    ``seed + 1``, ...), each in ``out/proxy_<seed>/``, and a summary across them in ``out``.
    ``jobs`` > 1 runs that many proxy realities at once, each in its own process (the same
    results: every instance is seeded by its own seed; a PPO run uses one core)."""
    console = console or Console()
    if jobs < 1:
        raise ValueError(f"jobs must be at least 1, got {jobs}")
    cfg = dict(SETTINGS["quick" if quick else "default"])
    if iterations:
        cfg["iterations"] = iterations
    t_start = time.perf_counter()
    seeds = [seed + k for k in range(cfg["instances"])]
    if jobs > 1 and len(seeds) > 1:
        runs = _parallel_instances(out, cfg, seeds, ppo_timesteps, jobs, console)
    else:
        runs = []
        for k, s in enumerate(seeds):
            console.print(f"[bold]proxy reality {k + 1}/{len(seeds)}[/bold] (seed {s})")
            runs.append(_instance(out / f"proxy_{s}", cfg, s, ppo_timesteps, console))
    labels = list(runs[0]["results"])
    across = {label: {"success_mean": float(np.mean([r["results"][label]["success"] for r in runs])),
                      "success_std": float(np.std([r["results"][label]["success"] for r in runs])),
                      "per_instance": [r["results"][label]["success"] for r in runs]} for label in labels}
    summary = {"instances": [r["seed"] for r in runs], "across": across, "wall_s": time.perf_counter() - t_start, "quick": quick,
               "ppo_timesteps": ppo_timesteps}
    (out / "summary.json").write_text(json.dumps(summary, indent=2))
    _plot(out / "transfer.png", runs)
    report = _overview(out, runs, summary)
    return {**summary, "report": str(report)}


def _parallel_instances(out: Path, cfg: dict[str, Any], seeds: list[int], ppo_timesteps: int, jobs: int,
                        console: Console) -> list[dict[str, Any]]:
    """Up to ``jobs`` instances at a time, each in a fresh process; their summaries are read
    back from ``proxy_<seed>/summary.json`` (their progress lines interleave)."""
    import multiprocessing as mp

    ctx = mp.get_context("forkserver")  # clean workers: the instances' own pools fork from them
    pending, running = list(seeds), []
    while pending or running:
        while pending and len(running) < jobs:
            s = pending.pop(0)
            console.print(f"[bold]proxy reality seed {s}[/bold]: started in its own process")
            proc = ctx.Process(target=_instance_job, args=(out / f"proxy_{s}", cfg, s, ppo_timesteps))
            proc.start()
            running.append((s, proc))
        s, proc = running.pop(0)
        proc.join()
        if proc.exitcode != 0:
            raise RuntimeError(f"the proxy reality with seed {s} failed (exit code {proc.exitcode}); see its output above")
        console.print(f"[bold]proxy reality seed {s}[/bold]: done")
    return [json.loads((out / f"proxy_{s}" / "summary.json").read_text()) for s in seeds]


def proxy_reality(prior: ParamSpace, seed: int) -> tuple[dict[str, float], dict[str, float]]:
    """Proxy ``seed``'s hidden parameters (±30 % of nominal, 0–40 ms latency) and the reality
    it flies: those plus the sensor noise that no simulator space models."""
    truth = draw_hidden(prior, NAMES, np.random.default_rng(seed), 0.3, {"actuation.latency_s": (0.0, 0.04)})
    return truth, {**truth, **SENSOR_NOISE}


def proxy_rollouts(env, policy, cfg: dict[str, Any], reality: dict[str, float], seed: int, iteration: int = 0, progress=None) -> list:
    """Rollouts of ``policy`` on the proxy reality of ``seed``, as the demo's calibration iteration ``iteration`` collects them."""
    return collect(env, policy, cfg["rollouts"], 250, seed=1000 + seed + 100 * iteration, params=reality, noise=0.02,
                   source="proxy:hidden", progress=progress)


def fit_proxy(data: list, prior: ParamSpace, cfg: dict[str, Any], seed: int, progress=None):
    """The demo's CMA-ES (DROPO) fit of the named parameters to proxy rollouts."""
    return fit_cmaes(lambda: gymnasium.make(ENV_ID), data, prior, NAMES, seed=seed, generations=cfg["fit_generations"],
                     k_samples=3, every=cfg["every"], obs_floor=0.005, progress=progress)


def _instance_job(out: Path, cfg: dict[str, Any], seed: int, ppo_timesteps: int) -> None:
    """One instance in a worker process; :func:`_instance` writes its summary.json."""
    _instance(out, cfg, seed, ppo_timesteps, Console())


def _instance(out: Path, cfg: dict[str, Any], seed: int, ppo_timesteps: int, console: Console) -> dict[str, Any]:
    t_start = time.perf_counter()
    out.mkdir(parents=True, exist_ok=True)
    env = gymnasium.make(ENV_ID)
    prior = env.unwrapped.param_space
    truth, reality = proxy_reality(prior, seed)
    timings: dict[str, float] = {}
    timings = dict.fromkeys(("collect", "calibrate", "tune"), 0.0)
    data: list = []
    calibrated: dict[str, Any] | None = None
    iterations = []
    with Progress(console=console) as bar:
        for it in range(cfg["iterations"]):
            step = f"[{it + 1}/{cfg['iterations']}]"
            # first rollouts with the expert on its nominal model; later ones with the controller tuned on the fit
            policy = make_expert if calibrated is None else (lambda e, c=calibrated: make_uav_expert(e, c["model"], c["gains"]))
            t0 = time.perf_counter()
            task = bar.add_task(f"{step} proxy reality: rollouts", total=cfg["rollouts"])
            new = proxy_rollouts(env, policy, cfg, reality, seed, it, progress=lambda k: bar.update(task, completed=k))
            for k, r in enumerate(new):
                r.save(out / "rollouts" / f"proxy_it{it + 1}_{k:02d}.npz")
            data += new
            timings["collect"] += time.perf_counter() - t0

            t0 = time.perf_counter()
            task = bar.add_task(f"{step} calibrate (CMA-ES) on {len(data)} rollouts", total=cfg["fit_generations"])
            fit = fit_proxy(data, prior, cfg, seed, progress=lambda g, v: bar.update(task, completed=g))
            timings["calibrate"] += time.perf_counter() - t0

            t0 = time.perf_counter()
            task = bar.add_task(f"{step} tune the controller on the fit", total=cfg["tune_generations"])
            calibrated = tune(ENV_ID, fit.space().subset(NAMES), seed=seed, samples=cfg["tune_samples"],
                              generations=cfg["tune_generations"], progress=lambda g: bar.advance(task))
            timings["tune"] += time.perf_counter() - t0
            iterations.append({"iteration": it + 1, "rollouts": len(data), "mean": fit.mean, "std": fit.std})

        fitted = fit.space()
        check = Transitions.from_rollouts(data, every=cfg["every"])
        errors = {"nominal parameters": one_step_error(env, NAMES, {n: prior[n].nominal for n in NAMES}, check),
                  "fitted means": one_step_error(env, NAMES, fit.mean, check),
                  "truth (proxy)": one_step_error(env, NAMES, truth, check)}
        write_report(out / "calibration", ENV_ID, fit, truth, errors, {"data": f"{len(data)} PROXY rollouts", "seed": seed})
        fitted.save(out / "fitted.yaml", meta={"env_id": ENV_ID, "source": "simsuite demo calibration against a PROXY reality"})

        distributions: dict[str, ParamSpace | None] = {"nominal": None, "wide uniform": prior.subset(NAMES),
                                                       "calibrated": fitted.subset(NAMES)}
        t0 = time.perf_counter()
        controllers = {}
        task = bar.add_task("tune the baselines (nominal, wide uniform)", total=2 * cfg["tune_generations"])
        for label, space in list(distributions.items())[:2]:
            controllers[label] = tune(ENV_ID, space, seed=seed, samples=cfg["tune_samples"], generations=cfg["tune_generations"],
                                      progress=lambda g: bar.advance(task))
        controllers["calibrated"] = calibrated
        timings["tune"] += time.perf_counter() - t0

        t0 = time.perf_counter()
        results = {}
        task = bar.add_task("evaluate on the proxy reality", total=len(controllers) * cfg["episodes"])
        for label, ctrl in controllers.items():
            runs = []
            for k in range(cfg["episodes"]):
                runs.append(episode(env, reality, ctrl["model"], ctrl["gains"], EVAL_SEED + k))
                bar.advance(task)
            results[label] = _summary(runs)
        timings["evaluate"] = time.perf_counter() - t0

    if ppo_timesteps > 0:
        t0 = time.perf_counter()
        results.update(_ppo(out, distributions, reality, ppo_timesteps, seed, cfg["episodes"], console))
        timings["ppo"] = time.perf_counter() - t0
    video = _video(out / "calibrated_on_proxy.mp4", env, reality, controllers["calibrated"])
    timings["total"] = time.perf_counter() - t_start
    summary = {"truth": truth, "fitted_mean": fit.mean, "fitted_std": fit.std, "iterations": iterations,
               "results": results, "controllers": controllers,
               "errors": errors, "timings_s": timings, "seed": seed}
    (out / "summary.json").write_text(json.dumps(summary, indent=2))
    _report(out, summary, video)
    env.close()
    return summary


def _summary(runs: list[tuple[float, bool]]) -> dict[str, Any]:
    ok = sum(s for _, s in runs)
    low, high = wilson_interval(ok, len(runs))
    returns = [r for r, _ in runs]
    return {"success": ok / len(runs), "ci95": [low, high], "return_mean": float(np.mean(returns)),
            "return_std": float(np.std(returns)), "episodes": len(runs)}


def _ppo(out: Path, distributions, reality, timesteps: int, seed: int, episodes: int, console: Console) -> dict[str, Any]:
    """PPO (agents/configs/uav.yaml) trained on each distribution, evaluated on the proxy."""
    results = {}
    for label, space in distributions.items():
        console.print(f"PPO on {label} ({timesteps:,} steps)")
        results[f"PPO, {label}"] = ppo_on_proxy(out / "ppo" / label.replace(" ", "_"), space, reality, timesteps, seed, episodes)
    return results


def ppo_on_proxy(out: Path, space: ParamSpace | None, reality: dict[str, float], timesteps: int, seed: int,
                 episodes: int, progress: bool = True) -> dict[str, Any]:
    """One PPO policy trained on ``space`` (None: nominal parameters), then flown on the proxy
    reality on the episodes the tuned controllers fly (seeds from EVAL_SEED); a row of the demo's table."""
    from simsuite.agents.evaluate import evaluate
    from simsuite.agents.train import train

    run = train(ENV_ID, None, randomize=space if space is not None else False, timesteps=timesteps, seed=seed, out_dir=out,
                progress=progress)
    res = evaluate(run, episodes=episodes, params=reality, target="proxy:hidden", seed=EVAL_SEED)
    return {"success": res.success_rate, "ci95": list(res.success_ci), "return_mean": res.mean_return,
            "return_std": float(np.std(res.returns)), "episodes": episodes}


def _video(path: Path, env, reality, ctrl) -> Path | None:
    """One proxy episode flown by the calibrated controller, from a chase camera."""
    try:
        from simsuite.agents.expert_uav import make_uav_expert
        from simsuite.render.record import VideoWriter
        from simsuite.render.view import CameraView
    except ImportError:
        return None
    sim = env.unwrapped
    view = CameraView("chase:quadrotor", width=480, height=360)
    writer = VideoWriter(path, fps=sim.metadata["render_fps"])
    try:
        obs, _ = env.reset(seed=50_000, options={"params": dict(reality)})
        policy = make_uav_expert(env, ctrl["model"], ctrl["gains"])
        for _ in range(250):
            writer.write(view.frame(sim.backend).rgb)
            obs, _, terminated, truncated, _ = env.step(policy(obs))
            if terminated or truncated:
                break
    finally:
        writer.close()
        view.close()
    return path


def _plot(path: Path, runs: list[dict[str, Any]]) -> None:
    """Success on each proxy reality per distribution, with 95 % Wilson intervals."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = list(runs[0]["results"])
    width = 0.8 / len(runs)
    fig, ax = plt.subplots(figsize=(2.0 + 1.6 * len(labels), 3.4))
    for k, run in enumerate(runs):
        x = np.arange(len(labels)) + (k - (len(runs) - 1) / 2) * width
        success = np.array([run["results"][lab]["success"] for lab in labels]) * 100
        ci = np.array([run["results"][lab]["ci95"] for lab in labels]).T * 100
        ax.bar(x, success, width * 0.9, label=f"proxy seed {run['seed']}")
        ax.errorbar(x, success, yerr=[success - ci[0], ci[1] - success], fmt="none", ecolor="k", capsize=3)
    ax.set_xticks(np.arange(len(labels)), labels)
    ax.set_ylabel("success on the PROXY reality [%]")
    ax.set_ylim(0, 105)
    ax.set_title("UAV-v0 hover: a controller (or PPO policy) per distribution")
    ax.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _overview(out: Path, runs: list[dict[str, Any]], summary: dict[str, Any]) -> Path:
    lines = ["# SimSuite demo: the sim-to-real loop on UAV-v0 (hover) against PROXY realities", "",
             f"{len(runs)} proxy realit{'y' if len(runs) == 1 else 'ies'} (hidden mass, thrust coefficient, drag and motor "
             "latency, plus sensor noise). For each: rollouts → CMA-ES calibration → a controller tuned per distribution "
             "→ evaluation on that proxy. Not a real robot: a proxy.", ""]
    if summary.get("ppo_timesteps"):
        lines += [f"Rows \"PPO, …\": a Stable-Baselines3 PPO policy (`agents/configs/uav.yaml`, seeded with the proxy's seed) "
                  f"trained for {summary['ppo_timesteps']:,} env steps on that distribution, flown deterministically on the "
                  "same proxy episodes (seeds) as the tuned controllers.", ""]
    lines += ["| trained / tuned on | success, mean ± std over proxies | per proxy |", "|---|---|---|"]
    for label, r in summary["across"].items():
        lines.append(f"| {label} | {r['success_mean']:.0%} ± {r['success_std']:.0%} | "
                     + ", ".join(f"{v:.0%}" for v in r["per_instance"]) + " |")
    lines += ["", "Hidden parameters of each proxy reality (relative to nominal; latency in ms):", "",
              "| proxy seed | " + " | ".join(NAMES) + " |", "|---|" + "---|" * len(NAMES)]
    nominal = nominal_values()
    lines += [f"| {r['seed']} | " + " | ".join(relative_value(n, r["truth"][n], nominal[n]) for n in NAMES) + " |" for r in runs]
    lines += ["", "![transfer](transfer.png)", "", "Per proxy reality (calibration table, transfer, video):", ""]
    lines += [f"- [proxy seed {r['seed']}](proxy_{r['seed']}/report.md)" for r in runs]
    lines += ["", f"Wall-clock: {summary['wall_s']:.0f} s."]
    path = out / "report.md"
    path.write_text("\n".join(lines) + "\n")
    return path


def relative_value(name: str, value: float, nominal: float) -> str:
    """A hidden value as a reader compares it: latency in ms, the rest in % off nominal."""
    if name.endswith("latency_s"):
        return f"{value * 1e3:.0f} ms"
    return f"{value:.4g} ({(value / nominal - 1) * 100:+.0f} %)"


def nominal_values() -> dict[str, float]:
    env = gymnasium.make(ENV_ID)
    space = env.unwrapped.param_space
    env.close()
    return {name: space[name].nominal for name in NAMES}


def _report(out: Path, s: dict[str, Any], video: Path | None) -> Path:
    lines = ["# SimSuite demo: sim-to-real loop on UAV-v0 (hover) against a PROXY reality", "",
             "The \"reality\" here is a **proxy**: the same simulator with hidden parameters and sensor noise "
             "(observation noise σ = 0.005) that the calibrated model does not have.", "",
             "## Calibration", "", "| parameter | hidden truth | fitted mean ± σ | error |", "|---|---|---|---|"]
    for name in NAMES:
        t, m, sd = s["truth"][name], s["fitted_mean"][name], s["fitted_std"][name]
        err = f"{abs(m - t) * 1e3:.1f} ms" if name.endswith("latency_s") else f"{abs(m - t) / t * 100:.1f} %"
        lines.append(f"| {name} | {t:.4g} | {m:.4g} ± {sd:.2g} | {err} |")
    if len(s["iterations"]) > 1:
        lines += ["", "Estimates per loop iteration (rollouts with the controller tuned on the previous fit):", "",
                  "| iteration | rollouts | " + " | ".join(NAMES) + " |", "|---|---|" + "---|" * len(NAMES)]
        lines += [f"| {h['iteration']} | {h['rollouts']} | " + " | ".join(f"{h['mean'][n]:.4g}" for n in NAMES) + " |"
                  for h in s["iterations"]]
    lines += ["", "One-step prediction error from the proxy's states (RMS, observation units): "
              + ", ".join(f"{k} {v:.4f}" for k, v in s["errors"].items()) + ".",
              "Details, convergence and marginals: [calibration/report.md](calibration/report.md).", "",
              "## Transfer to the proxy reality", "",
              "| trained / tuned on | success | 95 % interval | mean return |", "|---|---|---|---|"]
    for label, r in s["results"].items():
        lines.append(f"| {label} | {r['success']:.0%} | {r['ci95'][0]:.0%}–{r['ci95'][1]:.0%} | {r['return_mean']:.1f} |")
    lines += [""]
    if video:
        lines += [f"Video: [{video.name}]({video.name}) (the calibrated controller flying the proxy).", ""]
    lines += ["## Wall-clock", "", ", ".join(f"{k} {v:.0f} s" for k, v in s["timings_s"].items()), "",
              "`fitted.yaml` is the fitted distribution (`gymnasium.make(\"SimSuite/UAV-v0\", randomize=\"fitted.yaml\")`); "
              "`rollouts/` holds the proxy rollouts."]
    path = out / "report.md"
    path.write_text("\n".join(lines) + "\n")
    return path
