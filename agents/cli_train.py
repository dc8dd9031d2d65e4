"""``simsuite train`` and ``simsuite evaluate``: typer commands, registered in simsuite/cli.py.

Stable-Baselines3 and torch are imported only when a command runs, so that the rest of the
CLI starts fast and works without them.
"""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

console = Console()


def _randomize_arg(value: str | None):
    """--randomize: absent (nominal), 'default' (the task's own space) or a ParamSpace file."""
    if value is None or value.lower() in ("none", "false", "nominal"):
        return False
    if value.lower() in ("default", "true"):
        return True
    if not Path(value).is_file():
        raise typer.BadParameter(f"{value!r} is not a file; give a ParamSpace YAML/JSON file or 'default'", param_hint="--randomize")
    return value


def train_command(
    env_id: str = typer.Argument(..., help="a registered id, see `simsuite list`"),
    randomize: str = typer.Option(None, help="a ParamSpace file (e.g. a calibrated fitted.yaml), or 'default' for the task's own space"),
    config: str = typer.Option(None, help="a config name in agents/configs (uav, uav_sac, nav, default) or a YAML file; default: the family's"),
    timesteps: float = typer.Option(None, help="env steps, all workers together (e.g. 1e6); default: the config's"),
    n_envs: int = typer.Option(None, min=1, help="worker processes; default: the config's"),
    seed: int = typer.Option(0),
    out: str = typer.Option(None, help="run folder; default runs/train/<env>_<algo>_s<seed>"),
    backend: str = typer.Option("mujoco"),
    time_limit: float = typer.Option(None, help="stop after this many seconds of wall-clock"),
    progress: bool = typer.Option(True, help="show a progress bar"),
) -> None:
    """Train a policy with Stable-Baselines3 (PPO or SAC), randomized from a parameter file."""
    from simsuite.agents.train import train
    from simsuite.registration import TASKS

    if env_id not in TASKS:
        raise typer.BadParameter(f"unknown id {env_id!r}; known: {sorted(TASKS)}")
    folder = train(env_id, config=config, randomize=_randomize_arg(randomize), timesteps=None if timesteps is None else int(timesteps),
                   seed=seed, out_dir=out, n_envs=n_envs, backend=backend, progress=progress, time_limit_s=time_limit)
    meta = json.loads((folder / "run.json").read_text())
    console.print(f"trained {meta['algo']} on {env_id} for {meta['num_timesteps']:,} steps in {meta['wall_s']:.0f} s "
                  f"({meta['steps_per_s']:,.0f} steps/s); wrote {folder}")


def evaluate_command(
    model: str = typer.Argument(..., help="a run folder from `simsuite train` (or its model.zip / a checkpoint)"),
    env_id: str = typer.Option(None, "--env", help="the env id (default: the one it was trained on)"),
    episodes: int = typer.Option(50, min=1),
    params: str = typer.Option(None, help="proxy reality: a YAML/JSON file of hidden parameter values, fixed at every reset"),
    randomize: str = typer.Option(None, help="a randomized target: a ParamSpace file or 'default'"),
    backend: str = typer.Option(None, help="default: the one it was trained on"),
    seed: int = typer.Option(1_000_000, help="first episode's seed"),
    rollouts: str = typer.Option(None, help="folder for one rollout file per episode (calibration format)"),
    video: str = typer.Option(None, help="an MP4 of the first episode"),
    camera: str = typer.Option(None, help="video camera: 'chase:<body>' (e.g. chase:quadrotor), 'overview' or a scene camera; default the env's render camera"),
    out: str = typer.Option(None, help="a JSON file for the per-episode results and summary"),
) -> None:
    """Success rate and return (95% intervals) of a trained policy on a target."""
    from simsuite.agents.evaluate import evaluate

    if params and randomize:
        raise typer.BadParameter("give --params (a proxy reality) or --randomize (a randomized sim), not both")
    result = evaluate(model, episodes=episodes, randomize=_randomize_arg(randomize), params=params, backend=backend,
                      env_id=env_id, seed=seed, rollouts_dir=rollouts, video=video, camera=camera, progress=True)
    s = result.summary()
    table = Table("target", "episodes", "success", "95% CI", "mean return", "95% CI", "mean length", title=f"{model} on {s['env_id']}")
    (lo, hi), (rlo, rhi) = s["success_ci95"], s["return_ci95"]
    table.add_row(s["target"], str(s["episodes"]), f"{s['success_rate']:.0%}", f"{lo:.0%}–{hi:.0%}", f"{s['mean_return']:.2f}",
                  f"{rlo:.2f} – {rhi:.2f}", f"{s['mean_length']:.0f}")
    console.print(table)
    if rollouts:
        console.print(f"wrote {len(result.rollouts)} rollouts to {rollouts}")
    if video:
        console.print(f"wrote {video}")
    if out:
        Path(out).parent.mkdir(parents=True, exist_ok=True)
        Path(out).write_text(json.dumps(result.to_dict(), indent=2))
        console.print(f"wrote {out}")
