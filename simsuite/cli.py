"""The ``simsuite`` command: list, run, demo."""

from __future__ import annotations

import time
from typing import Callable

import gymnasium
import numpy as np
import typer
from rich.console import Console
from rich.progress import track
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


def _trajectory(env_id: str, backend: str, actions: np.ndarray, seed: int) -> np.ndarray:
    """Observations from replaying a fixed action sequence from a seeded reset."""
    env = gymnasium.make(env_id, backend=backend)
    obs, _ = env.reset(seed=seed)
    out = [obs]
    for a in actions:
        obs, *_ = env.step(a)
        out.append(obs)
    env.close()
    return np.asarray(out)


@app.command()
def demo(
    env_id: str = typer.Option("SimSuite/Pendulum-v0", help="the task to show"),
    episodes: int = typer.Option(5, min=1),
) -> None:
    """The main job on its built-in default: the scripted expert on both engines,
    then the MuJoCo-PyBullet trajectory gap under identical actions."""
    results = Table("backend", "success", "mean return", "steps/s", title=f"{env_id}: scripted expert")
    for backend in BACKENDS:
        env = gymnasium.make(env_id, backend=backend)
        pol = make_policy("expert", env)
        rets, oks, steps, t0 = [], [], 0, time.perf_counter()
        for ep in track(range(episodes), description=f"{backend:9s}", console=console):
            ret, length, ok = run_episode(env, pol, ep)
            rets.append(ret)
            oks.append(ok)
            steps += length
        rate = steps / (time.perf_counter() - t0)
        env.close()
        results.add_row(backend, f"{np.mean(oks):.0%}", f"{np.mean(rets):.1f}", f"{rate:,.0f}")
    console.print(results)
    probe = gymnasium.make(env_id)
    probe.action_space.seed(0)
    actions = np.stack([probe.action_space.sample() for _ in range(100)])
    probe.close()
    a, b = (_trajectory(env_id, name, actions, seed=0) for name in BACKENDS)
    gap = np.sqrt(np.mean((a - b) ** 2, axis=1))
    console.print(f"Engine gap (RMS observation difference, same seed and actions): step 20: {gap[20]:.2e}, step 100: {gap[100]:.2e}")


def main() -> None:
    app()


if __name__ == "__main__":
    main()
