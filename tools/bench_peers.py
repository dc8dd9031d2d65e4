"""SimSuite families against peer simulators measured side by side in the same process.

Peers are optional pip packages, not SimSuite dependencies; a missing one is reported and
skipped (install it into the venv to include it: `pip install highway-env`).

| SimSuite | peer | bar (issue 3) |
|---|---|---|
| Drive-v0 | highway-env `highway-fast-v0` | ≥ 20× |

Both run random actions with resets included, through `gymnasium.make`.

    python tools/bench_peers.py [--steps 2000]
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
from pathlib import Path

import gymnasium

sys.path.insert(0, str(Path(__file__).resolve().parent))
from benchmark import rate, report  # noqa: E402

import simsuite  # noqa: E402,F401

PAIRS = [("SimSuite/Drive-v0", "highway_env", "highway-fast-v0", 20.0)]


def steps_per_s(env: gymnasium.Env, steps: int) -> float:
    env.reset(seed=0)
    env.action_space.seed(0)

    def step() -> None:
        if any(env.step(env.action_space.sample())[2:4]):
            env.reset()

    return rate(step, steps)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=2000)
    args = parser.parse_args()
    rows = []
    for ours, module, peer_id, bar in PAIRS:
        if importlib.util.find_spec(module) is None:
            print(f"{module} is not installed: skipping {peer_id}")
            continue
        importlib.import_module(module)
        peer = gymnasium.make(peer_id)
        peer_rate = steps_per_s(peer, max(100, args.steps // 20))
        peer.close()
        for backend in ("mujoco", "pybullet"):
            env = gymnasium.make(ours, backend=backend)
            our_rate = steps_per_s(env, args.steps)
            env.close()
            rows.append([ours, backend, f"{our_rate:,.0f}", peer_id, f"{peer_rate:,.0f}", f"{our_rate / peer_rate:.1f}x", f"{bar:.0f}x"])
    report("peers", ["env", "backend", "steps/s", "peer", "peer steps/s", "ratio", "bar"], rows)


if __name__ == "__main__":
    main()
