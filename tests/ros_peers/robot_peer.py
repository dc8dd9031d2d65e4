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
    for name, kind in extra.items():
        parser.add_argument(f"--{name.replace('_', '-')}", type=kind, default=-1)
    return parser.parse_args()


def spin_and_report(node, args: argparse.Namespace, commands: list, report: dict, period_s: float = 0.05) -> None:
    """Spin until ``--exit-after`` commands or ``--run-for`` seconds, write ``report`` as JSON
    to ``--out``, and shut the node down."""
    end = time.time() + args.run_for
    while time.time() < end and len(commands) != args.exit_after:
        rclpy.spin_once(node, timeout_sec=period_s)
    with open(args.out, "w") as f:
        json.dump(report, f)
    node.destroy_node()
    rclpy.shutdown()
