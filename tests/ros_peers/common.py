"""Shared by the scenario scripts: they run in SimSuite's venv inside a private network
namespace (the test starts them through ``simsuite.ros.netns.netns_argv``) and print one
JSON line of results last."""

import json
import os
import subprocess
import sys
from pathlib import Path

from simsuite.ros.netns import in_private_netns, rclpy_env

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]


def peer_python() -> str:
    """The rclpy venv's interpreter (``SIMSUITE_ROSPEER_PY`` or ``.venv-rospeer``)."""
    return os.environ.get("SIMSUITE_ROSPEER_PY") or str(ROOT / ".venv-rospeer" / "bin" / "python")


def require_private_netns() -> None:
    if not in_private_netns():
        sys.exit("refusing to start DDS outside a private network namespace (run through netns_argv)")


def start_peer(script: str, *args: str) -> subprocess.Popen:
    return subprocess.Popen([peer_python(), str(HERE / script), *args], env=rclpy_env())


def emit(result: dict) -> None:
    print(json.dumps(result), flush=True)
