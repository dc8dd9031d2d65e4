"""What the rclpy robot nodes share (they run in the rclpy venv, not SimSuite's): their
command line, and spinning until enough commands arrived before writing what they saw."""

import argparse
import json
import time

import rclpy


def robot_args(run_for_s: float = 60.0, **extra: type) -> argparse.Namespace:
    """``--out``, ``--run-for``, ``--exit-after`` (and ``--<name>`` ints given in ``extra``)."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", required=True)
    parser.add_argument("--run-for", type=float, default=run_for_s)
    parser.add_argument("--exit-after", type=int, default=-1, help="exit once this many commands arrived")
    parser.add_argument("--idle-exit", type=float, default=-1.0, help="exit this many seconds after the last command")
    for name, kind in extra.items():
        parser.add_argument(f"--{name.replace('_', '-')}", type=kind, default=-1)
    return parser.parse_args()


def spin_and_report(node, args: argparse.Namespace, commands: list, report: dict, period_s: float = 0.05) -> None:
    """Spin until ``--exit-after`` commands, ``--idle-exit`` seconds without a new one, or
    ``--run-for`` seconds; write ``report`` as JSON to ``--out``, and shut the node down."""
    end = time.time() + args.run_for
    seen, last = 0, time.time()
    while time.time() < end and len(commands) != args.exit_after:
        rclpy.spin_once(node, timeout_sec=period_s)
        if len(commands) != seen:
            seen, last = len(commands), time.time()
        if args.idle_exit > 0 and seen and time.time() - last > args.idle_exit:
            break
    with open(args.out, "w") as f:
        json.dump(report, f)
    node.destroy_node()
    rclpy.shutdown()
