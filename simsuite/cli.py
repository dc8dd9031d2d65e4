"""The ``simsuite`` command: list, run, demo."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Callable

import gymnasium
import numpy as np
import typer
from rich.console import Console
from rich.progress import Progress, track
from rich.table import Table

import simsuite  # noqa: F401  (registers the ids)
from simsuite.backends import BACKENDS
from simsuite.registration import TASKS, available_ids

app = typer.Typer(add_completion=False, no_args_is_help=True, help="SimSuite: robotics simulators on MuJoCo and PyBullet.")
console = Console()


@app.command("list")
def list_envs() -> None:
    """Show the registered environment ids, one line each."""
    for env_id in available_ids():
        summary = TASKS[env_id][2]
        console.print(f"[bold]{env_id}[/bold]  {summary}")


def make_policy(name: str, env: gymnasium.Env) -> Callable[[np.ndarray], np.ndarray]:
    if name == "random":
        return lambda obs: env.action_space.sample()
    if name == "expert":
        from simsuite.agents.experts import make_expert

        return make_expert(env)
    raise typer.BadParameter(f"unknown policy {name!r}; choose 'expert' or 'random'")


def run_episode(env: gymnasium.Env, policy, seed: int) -> tuple[float, int, bool]:
    """One episode; returns (return, length, success at the end)."""
    obs, info = env.reset(seed=seed)
    total, length, done = 0.0, 0, False
    while not done:
        obs, reward, terminated, truncated, info = env.step(policy(obs))
        total += reward
        length += 1
        done = terminated or truncated
    return total, length, bool(info.get("is_success", False))


@app.command()
def run(
    env_id: str = typer.Argument(..., help="a registered id, see `simsuite list`"),
    backend: str = typer.Option("mujoco", help=f"one of {BACKENDS}"),
    episodes: int = typer.Option(3, min=1),
    policy: str = typer.Option("expert", help="expert or random"),
    seed: int = typer.Option(0),
) -> None:
    """Run episodes and print each one's return, length and success."""
    if env_id not in TASKS:
        raise typer.BadParameter(f"unknown id {env_id!r}; known: {sorted(TASKS)}")
    env = gymnasium.make(env_id, backend=backend)
    pol = make_policy(policy, env)
    table = Table("episode", "return", "length", "success", title=f"{env_id} on {backend}, {policy} policy")
    for ep in track(range(episodes), description="episodes", console=console, transient=True):
        ret, length, ok = run_episode(env, pol, seed + ep)
        table.add_row(str(ep), f"{ret:.2f}", str(length), "yes" if ok else "no")
    env.close()
    console.print(table)


@app.command()
def record(
    env_id: str = typer.Argument(..., help="a registered id, see `simsuite list`"),
    out: str = typer.Option("episode.mp4", help="the MP4 file to write"),
    backend: str = typer.Option("mujoco", help=f"one of {BACKENDS}"),
    policy: str = typer.Option("expert", help="expert or random"),
    episodes: int = typer.Option(1, min=1),
    max_steps: int = typer.Option(None, help="cap on steps per episode"),
    seed: int = typer.Option(0),
) -> None:
    """Write a video with RGB, depth and segmentation side by side."""
    from simsuite.render.record import record as record_video

    if env_id not in TASKS:
        raise typer.BadParameter(f"unknown id {env_id!r}; known: {sorted(TASKS)}")
    with console.status(f"recording {env_id} on {backend}"):
        path = record_video(env_id, out, policy=policy, backend=backend, episodes=episodes, seed=seed, max_steps=max_steps)
    console.print(f"wrote {path}")


@app.command()
def demo(
    quick: bool = typer.Option(False, "--quick", help="smaller budgets: about 2 minutes instead of about 10"),
    out: Path = typer.Option(Path("runs/demo"), help="report folder"),
    seed: int = typer.Option(0),
    ppo_timesteps: int = typer.Option(0, help="also train a PPO policy per distribution with this many steps"),
    iterations: int = typer.Option(0, help="calibration loop iterations (0: the built-in default, 1)"),
    jobs: int = typer.Option(1, min=1, help="proxy realities run at once, each in its own process"),
) -> None:
    """The main job on its built-in default: the sim-to-real loop on UAV-v0 against a proxy
    reality (collect, calibrate, tune per distribution, evaluate, report)."""
    from simsuite.agents.demo import run_demo

    result = run_demo(out, quick=quick, seed=seed, ppo_timesteps=ppo_timesteps, console=console, iterations=iterations or None,
                      jobs=jobs)
    table = Table("tuned on", "success on the PROXY realities (mean ± std)", "per proxy", title="transfer")
    for label, r in result["across"].items():
        table.add_row(label, f"{r['success_mean']:.0%} ± {r['success_std']:.0%}", ", ".join(f"{v:.0%}" for v in r["per_instance"]))
    console.print(table)
    console.print(f"report: {result['report']}  (wall-clock {result['wall_s']:.0f} s)")


@app.command()
def experts(
    env_id: list[str] = typer.Option(None, help="ids to show (default: every family)"),
    episodes: int = typer.Option(2, min=1),
) -> None:
    """Every family's scripted expert on both engines (success, return, speed).
    `python tools/parity.py` adds the engine gap."""
    ids = env_id or available_ids()
    results = Table("env", "backend", "success", "mean return", "mean length", "steps/s", title="scripted experts on both engines")
    with Progress(console=console, transient=True) as progress:
        for name in ids:
            for backend in BACKENDS:
                task = progress.add_task(f"{name} on {backend}", total=episodes)
                env = gymnasium.make(name, backend=backend)
                pol = make_policy("expert", env)
                rets, oks, lengths, t0 = [], [], [], time.perf_counter()
                for ep in range(episodes):
                    ret, length, ok = run_episode(env, pol, ep)
                    rets.append(ret)
                    oks.append(ok)
                    lengths.append(length)
                    progress.advance(task)
                rate = sum(lengths) / (time.perf_counter() - t0)
                env.close()
                results.add_row(name, backend, f"{np.mean(oks):.0%}", f"{np.mean(rets):.1f}", f"{np.mean(lengths):.0f}", f"{rate:,.0f}")
    console.print(results)


# Stable-Baselines3 training and evaluation (agents/cli_train.py; SB3 is imported when they run)
from simsuite.agents.cli_train import evaluate_command, train_command  # noqa: E402

app.command("train")(train_command)
app.command("evaluate")(evaluate_command)

from simsuite.calibration.cli import calibrate  # noqa: E402

app.command("calibrate")(calibrate)
from simsuite.ros.cli import bridge  # noqa: E402  (light: the ROS pieces load when the command runs)

app.command("bridge")(bridge)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
