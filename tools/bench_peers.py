"""SimSuite families against peer simulators, measured side by side in the same run.

Peers are not SimSuite dependencies: they live in a venv of their own (``--install`` makes
it, from PyPI), and each measurement runs there in a subprocess, interleaved with SimSuite's
own (three rounds, best of each), so both see the same machine load.
The first run makes that venv (``runs/peer-venv``, from PyPI).

| SimSuite | peer | bar (issue 3) |
|---|---|---|
| Drive-v0 | highway-env `highway-fast-v0` | ≥ 20× |
| Grasp-v0 | gymnasium-robotics `FetchPickAndPlace-v4` (MuJoCo) | ≥ 1× |
| UAV-v0 | gym-pybullet-drones `HoverAviary` | ≥ 5× (not on PyPI: the issue's 850 steps/s with resets is the anchor) |

All run random actions with resets included, through ``gymnasium.make``.

    python tools/bench_peers.py [--steps 2000] [--install] [--only uav ...] [--clock wall|cpu]

``--only`` keeps the families whose id contains one of the words (``--only uav`` needs no peer
venv: its peer is the anchor figure). ``--clock cpu`` counts this process's CPU time instead
of wall-clock, for a shared machine whose other jobs would otherwise be charged to SimSuite.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import venv
from dataclasses import dataclass
from pathlib import Path

import gymnasium

sys.path.insert(0, str(Path(__file__).resolve().parent))
from benchmark import cpu_rate, rate, report  # noqa: E402

import simsuite  # noqa: E402,F401


@dataclass(frozen=True)
class Peer:
    ours: str
    peer_id: str
    module: str  # imported (and registered) before gymnasium.make in the peer venv
    requirements: tuple[str, ...]
    bar: float  # our steps/s over the peer's
    step_fraction: float = 1.0  # slow peers run fewer steps


PEERS = [
    Peer("SimSuite/Drive-v0", "highway-fast-v0", "highway_env", ("highway-env==1.12.1",), 20.0, step_fraction=0.05),
    # gymnasium-robotics' Fetch models load on mujoco 3.1 (tested with 3.1.6)
    Peer("SimSuite/Grasp-v0", "FetchPickAndPlace-v4", "gymnasium_robotics", ("gymnasium-robotics==1.4.2", "mujoco==3.1.6"), 1.0),
]
ANCHORS = [  # (ours, peer, its figure measured by the author, bar): no PyPI package to run
    ("SimSuite/UAV-v0", "gym-pybullet-drones HoverAviary (issue's figure)", 850.0, 5.0),
]

PEER_SCRIPT = """
import importlib, sys, time, gymnasium
module, env_id, steps = sys.argv[1], sys.argv[2], int(sys.argv[3])
mod = importlib.import_module(module)
if hasattr(gymnasium, "register_envs"):
    gymnasium.register_envs(mod)
env = gymnasium.make(env_id)
env.reset(seed=0)
env.action_space.seed(0)
t0 = time.perf_counter()
for _ in range(steps):
    if any(env.step(env.action_space.sample())[2:4]):
        env.reset()
print(steps / (time.perf_counter() - t0))
"""


def steps_per_s(env: gymnasium.Env, steps: int, clock: str = "wall") -> float:
    env.reset(seed=0)
    env.action_space.seed(0)

    def step() -> None:
        if any(env.step(env.action_space.sample())[2:4]):
            env.reset()

    return (cpu_rate if clock == "cpu" else rate)(step, steps, repeats=1)


def peer_steps_per_s(python: Path, peer: Peer, steps: int) -> float:
    """One measurement of the peer in its own venv (the reset at start is not timed)."""
    out = subprocess.run([str(python), "-c", PEER_SCRIPT, peer.module, peer.peer_id, str(steps)],
                         capture_output=True, text=True, check=True)
    return float(out.stdout.strip().splitlines()[-1])


def install(peer_venv: Path) -> Path:
    """Make the peers' venv (PyPI only) and return its interpreter."""
    python = peer_venv / "bin" / "python"
    if not python.exists():
        print(f"==> creating {peer_venv}")
        venv.create(peer_venv, with_pip=True)
    requirements = sorted({r for p in PEERS for r in p.requirements})
    print(f"==> installing {' '.join(requirements)}")
    subprocess.run([str(python), "-m", "pip", "install", "--quiet", *requirements], check=True)
    return python


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds; the best of each side counts")
    parser.add_argument("--peer-venv", type=Path, default=Path("runs/peer-venv"))
    parser.add_argument("--install", action="store_true", help="update the peers' venv first (made on first use)")
    parser.add_argument("--only", nargs="+", default=None, help="families to run, by a word of their id (e.g. uav drive)")
    parser.add_argument("--clock", choices=("wall", "cpu"), default="wall", help="SimSuite's rates per wall-clock or per CPU second")
    args = parser.parse_args()

    def wanted(env_id: str) -> bool:
        return args.only is None or any(word.lower() in env_id.lower() for word in args.only)

    peers, anchors = [p for p in PEERS if wanted(p.ours)], [a for a in ANCHORS if wanted(a[0])]
    python = args.peer_venv / "bin" / "python"
    if peers and (args.install or not python.exists()):
        python = install(args.peer_venv)
    rows = []
    for peer in peers:
        envs = {b: gymnasium.make(peer.ours, backend=b) for b in ("mujoco", "pybullet")}
        ours = {b: 0.0 for b in envs}
        theirs = 0.0
        for r in range(args.rounds):
            print(f"{peer.ours} vs {peer.peer_id}: round {r + 1}/{args.rounds}", flush=True)
            theirs = max(theirs, peer_steps_per_s(python, peer, max(50, int(args.steps * peer.step_fraction))))
            for b, env in envs.items():
                ours[b] = max(ours[b], steps_per_s(env, args.steps, args.clock))
        for b, env in envs.items():
            env.close()
            rows.append([peer.ours, b, f"{ours[b]:,.0f}", peer.peer_id, f"{theirs:,.0f}", f"{ours[b] / theirs:.1f}x", f"{peer.bar:g}x"])
    for ours_id, label, figure, bar in anchors:
        for b in ("mujoco", "pybullet"):
            env = gymnasium.make(ours_id, backend=b)
            ours_rate = max(steps_per_s(env, args.steps, args.clock) for _ in range(args.rounds))
            env.close()
            rows.append([ours_id, b, f"{ours_rate:,.0f}", label, f"{figure:,.0f}", f"{ours_rate / figure:.1f}x", f"{bar:g}x"])
    report("peers", ["env", "backend", "steps/s", "peer", "peer steps/s", "ratio", "bar"], rows, {"clock": args.clock})


if __name__ == "__main__":
    main()
