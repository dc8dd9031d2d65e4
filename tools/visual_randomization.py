"""An example grid of visual randomization: one scene under several random appearances.

    python tools/visual_randomization.py [--out docs/frames/visual_randomization.png] [--looks 4] [--seed 0]

The scene is bench_render's Panda on a table (posed by the MuJoCo backend). The first column
is the nominal look (:func:`~simsuite.render.appearance.nominal_visual`); the others draw every
visual parameter from the suggested ranges (:data:`~simsuite.render.appearance.SUGGESTED_RANGES`,
sampled here by :func:`sample_visual`) with 0-8 distractors. Top row RGB, bottom row the
segmentation: identical in every column except where distractors stand in front.
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_render import panda_scene, posed  # noqa: E402

from simsuite.render import Renderer, look_at_camera  # noqa: E402
from simsuite.render.appearance import nominal_visual  # noqa: E402
from simsuite.render.images import colorize_seg, write_png  # noqa: E402


def sample_visual(nominal: dict, rng: np.random.Generator, images: list[str] = ()) -> dict:
    """Every visual name drawn from the suggested default ranges (one line per family)."""
    out = dict(nominal)
    textures = ["none", "checker", "noise", "gradient"] + [f"image:{p}" for p in images]
    for name in nominal:
        field = name.rsplit(".", 1)[1]
        if name.startswith("light."):
            continue
        if field.startswith("color"):
            out[name] = float(rng.uniform(0.0, 1.0))  # any colour: U(0, 1)
        elif field == "texture":
            out[name] = str(rng.choice(textures))  # categorical, uniform
        elif field == "texture_scale_m":
            out[name] = float(math.exp(rng.uniform(math.log(0.01), math.log(0.5))))  # log-U(0.01, 0.5) m
    out["light.azimuth_rad"] = float(rng.uniform(-math.pi, math.pi))  # sun from any side
    out["light.elevation_rad"] = float(rng.uniform(0.3, 1.4))  # 17-80 deg
    out["light.intensity"] = float(rng.uniform(0.5, 1.5))
    out["light.ambient"] = float(rng.uniform(0.5, 1.5))
    for c in "rgb":
        out[f"light.color_{c}"] = float(rng.uniform(0.8, 1.0))  # near-white light
    for axis in ("dx_m", "dy_m", "dz_m"):
        out[f"camera.{axis}"] = float(rng.uniform(-0.02, 0.02))  # mounting tolerance
    for axis in ("droll_rad", "dpitch_rad", "dyaw_rad"):
        out[f"camera.{axis}"] = float(rng.uniform(-0.03, 0.03))
    out["camera.dfov_deg"] = float(rng.uniform(-3.0, 3.0))
    out["distractors.count"] = int(rng.integers(0, 9))
    out["distractors.seed"] = int(rng.integers(2**31))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", default="docs/frames/visual_randomization.png")
    parser.add_argument("--looks", type=int, default=4, help="columns (the first is nominal)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--width", type=int, default=240)
    parser.add_argument("--height", type=int, default=180)
    args = parser.parse_args()
    scene = panda_scene("visual")
    names, pos, quat = posed(scene)
    cam = look_at_camera("cam", (1.45, -0.9, 1.25), (0.3, 0.0, 0.55), width=args.width, height=args.height, fovy_deg=50.0)
    rng = np.random.default_rng(args.seed)
    images = sorted(str(p) for p in Path("docs/frames").glob("*_all.png"))[:2]  # any pictures will do as image textures
    nominal = nominal_visual(scene)
    rgb_row, seg_row = [], []
    with Renderer(scene, [cam], lod=1.0) as r:
        for k in range(args.looks):
            values = nominal if k == 0 else sample_visual(nominal, rng, images)
            r.set_appearance(values)
            frame = r.render(names, pos, quat)["cam"]
            rgb_row.append(frame.rgb)
            seg_row.append(colorize_seg(frame.seg, r.ids + r.max_distractors))
    gap = np.full((args.height, 4, 3), 255, np.uint8)
    row = lambda images: np.concatenate([x for im in images for x in (im, gap)][:-1], 1)  # noqa: E731
    grid = np.concatenate([row(rgb_row), np.full((4, row(rgb_row).shape[1], 3), 255, np.uint8), row(seg_row)], 0)
    print(write_png(args.out, grid))


if __name__ == "__main__":
    main()
