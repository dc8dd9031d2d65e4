"""``simsuite bridge``: run an env as a ROS node (registered in simsuite/cli.py)."""

from __future__ import annotations

import logging

import typer
from rich.console import Console

console = Console()


def _topics(values: list[str] | None) -> dict[str, str]:
    out = {}
    for item in values or []:
        key, sep, name = item.partition("=")
        if not sep:
            raise typer.BadParameter(f"--topic takes KEY=/name (e.g. command=/robot1/cmd_vel), got {item!r}")
        out[key] = name
    return out


def bridge(
    env_id: str = typer.Argument(..., help="a registered id, e.g. SimSuite/Nav-v0"),
    lockstep: bool = typer.Option(False, "--lockstep/--free", help="wait for one command per step, or run at --rtf"),
    transport: str = typer.Option("dds", help="dds (Cyclone, no ROS needed), rclpy or ros1"),
    backend: str = typer.Option("mujoco", help="mujoco or pybullet"),
    timeout: float = typer.Option(1.0, help="lockstep: seconds to wait for a command"),
    on_timeout: str = typer.Option("raise", help="lockstep: raise, hold (the last command) or step (with the stop command)"),
    rtf: float = typer.Option(1.0, help="free-running: real-time factor (0 = as fast as possible)"),
    steps: int = typer.Option(None, help="stop after this many steps"),
    duration: float = typer.Option(None, help="stop after this many wall seconds"),
    wait_for_peer: float = typer.Option(10.0, help="seconds to wait for a subscriber on /odom before step 0"),
    record: str = typer.Option(None, help="record the session to this rosbag2 folder (MCAP)"),
    camera: str = typer.Option(None, help="publish camera images, WIDTHxHEIGHT (e.g. 640x480)"),
    topic: list[str] = typer.Option(None, help="rename a topic: KEY=/name (keys: command, scan, imu, odom, clock, ...)"),
    interface: str = typer.Option(None, help="DDS network interface (default: loopback only)"),
    domain_id: int = typer.Option(None, help="DDS domain (default: ROS_DOMAIN_ID or 0)"),
    seed: int = typer.Option(0),
) -> None:
    """Run an env as a ROS node: sensors, /clock, /tf and /odom out, the family's command in."""
    from simsuite.ros.bridge import LockstepTimeout, SimBridge

    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    cam = None
    if camera:
        try:
            width, height = (int(v) for v in camera.lower().split("x"))
        except ValueError:
            raise typer.BadParameter(f"--camera takes WIDTHxHEIGHT, got {camera!r}") from None
        cam = (width, height)
    sim = SimBridge(env_id, transport, lockstep=lockstep, timeout_s=timeout, on_timeout=on_timeout, real_time_factor=rtf,
                    topics=_topics(topic), camera=cam, record=record, seed=seed, interface=interface, domain_id=domain_id,
                    env_kwargs={"backend": backend})
    mode = "lockstep" if lockstep else f"free-running at {rtf}x real time"
    console.print(f"[bold]{env_id}[/bold] on {backend} as a ROS node over {transport}, {mode}; "
                  f"command on {sim.topics['command']} ({sim.profile.command_type})")
    try:
        sim.spin(steps=steps, duration_s=duration, wait_for_peer_s=wait_for_peer)
    except KeyboardInterrupt:
        pass
    except LockstepTimeout as exc:
        console.print(f"[red]lockstep timeout:[/red] {exc}")
        raise typer.Exit(3) from None
    finally:
        summary = sim.stats.summary()
        sim.close()
        console.print(summary)
        if record:
            console.print(f"recorded to {record}")
