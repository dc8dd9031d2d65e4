"""Example RGB / depth / segmentation frames of task families, for the README.

    python tools/example_frames.py [--ids SimSuite/Grasp-v0 ...] [--out docs/frames] [--backend mujoco]

Each id is made with gymnasium, reset with a seed, optionally stepped with its expert,
and drawn by SimSuite's renderer from ``env.unwrapped.backend`` (its scene and body
poses): ``<id>_rgb.png``, ``_depth.png``, ``_seg.png`` and ``_all.png`` side by side.
"""

from __future__ import annotations

import argparse

import simsuite  # noqa: F401  (registers the ids)
from simsuite.registration import available_ids
from simsuite.render.record import example_frames


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--ids", nargs="+", default=None, help="env ids (default: every registered family present)")
    parser.add_argument("--out", default="docs/frames")
    parser.add_argument("--backend", default="mujoco")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--steps", type=int, default=0, help="expert steps before the frame")
    parser.add_argument("--width", type=int, default=320)
    parser.add_argument("--height", type=int, default=240)
    args = parser.parse_args()
    for env_id in args.ids or available_ids():
        try:
            paths = example_frames(
                env_id, args.out, backend=args.backend, seed=args.seed, steps=args.steps, width=args.width, height=args.height
            )
        except Exception as exc:  # one broken family should not stop the others
            print(f"{env_id}: failed: {type(exc).__name__}: {exc}")
            continue
        print(f"{env_id}: {paths['all']}")


if __name__ == "__main__":
    main()
