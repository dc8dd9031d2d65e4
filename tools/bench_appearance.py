"""Visual randomization cost: ``set_appearance`` and rendering with looks and distractors, against
the same renderer without them, in the same run.

The scene is bench_render's Panda on a table (MuJoCo-posed, lod=1.0 as RL-size cameras use
it). Per image size, frames per second (RGB + depth + segmentation) for:

- ``plain``: no appearance set (the baseline);
- ``colours``: every body's colour overridden (the per-body look programs);
- ``textures``: every body a procedural texture (checker, noise, gradient in turn) and the
  floor an image texture, light and camera jittered;
- ``+ distractors``: the same plus 8 distractor shapes.

and the cost of one ``set_appearance`` call (a fresh random dict each time, as a
randomized reset makes it) for colours only, and for everything including distractors.

    python tools/bench_appearance.py [--sizes 84x84 128x128 640x480] [--frames 40]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_render import camera, panda_scene, posed  # noqa: E402
from benchmark import cpu_rate, rate, report  # noqa: E402

from simsuite.render import Renderer  # noqa: E402
from simsuite.render.appearance import nominal_visual  # noqa: E402
from simsuite.render.images import write_png  # noqa: E402


def random_looks(nominal: dict, rng: np.random.Generator, *, textures: bool, distractors: bool, image: str | None) -> dict:
    out = dict(nominal)
    bodies = sorted({n.rsplit(".", 1)[0] for n in nominal if n.endswith(".texture")})
    kinds = ["checker", "noise", "gradient"]
    for i, b in enumerate(bodies):
        for c in "rgb":
            out[f"{b}.color_{c}"] = float(rng.uniform())
            out[f"{b}.color2_{c}"] = float(rng.uniform())
        if textures:
            out[f"{b}.texture"] = f"image:{image}" if b == "floor" and image else kinds[i % 3]
            out[f"{b}.texture_scale_m"] = float(np.exp(rng.uniform(np.log(0.01), np.log(0.5))))
    if textures:
        out.update({"light.azimuth_rad": float(rng.uniform(-np.pi, np.pi)), "light.elevation_rad": float(rng.uniform(0.3, 1.4))})
        out.update({"light.intensity": float(rng.uniform(0.5, 1.5)), "camera.dx_m": float(rng.uniform(-0.02, 0.02)), "camera.dfov_deg": float(rng.uniform(-3, 3))})
    if distractors:
        out.update({"distractors.count": 8, "distractors.seed": int(rng.integers(2**31)), "distractors.size_m": 0.05})
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", nargs="+", default=["84x84", "128x128", "640x480"])
    parser.add_argument("--frames", type=int, default=40, help="frames per timing repeat at <= 128x128 (a quarter at larger sizes)")
    parser.add_argument("--updates", type=int, default=300, help="set_appearance calls per timing")
    args = parser.parse_args()
    scene = panda_scene("visual")
    names, pos, quat = posed(scene)
    nominal = nominal_visual(scene)
    rng = np.random.default_rng(0)
    image = str(write_png(Path("runs/bench/appearance_tile.png"), np.kron(rng.integers(0, 256, (8, 8, 3)), np.ones((16, 16, 1))).astype(np.uint8)))
    rows, updates = [], {}
    for size in args.sizes:
        w, h = (int(v) for v in size.split("x"))
        frames = args.frames if w * h <= 128 * 128 else max(args.frames // 4, 5)
        with Renderer(scene, [camera(w, h)], lod=1.0) as r:
            configs = {
                "plain": {},
                "colours": random_looks(nominal, rng, textures=False, distractors=False, image=None),
                "textures": random_looks(nominal, rng, textures=True, distractors=False, image=image),
                "+ distractors": random_looks(nominal, rng, textures=True, distractors=True, image=image),
            }
            fps = {k: 0.0 for k in configs}
            cpu = {k: 0.0 for k in configs}
            for _ in range(3):  # round robin, best of each: load from other processes hits all alike
                for label, values in configs.items():
                    r.set_appearance(values)
                    r.render(names, pos, quat)  # compile and warm up
                    fps[label] = max(fps[label], rate(lambda: r.render(names, pos, quat), frames, repeats=1))
                    cpu[label] = max(cpu[label], cpu_rate(lambda: r.render(names, pos, quat), frames, repeats=1))
            rows.append(
                [size, *(f"{fps[k]:.0f}" for k in configs), *(f"{fps[k] / fps['plain']:.2f}" for k in list(configs)[1:]), *(f"{cpu[k] / cpu['plain']:.2f}" for k in list(configs)[1:])]
            )
            print(rows[-1], flush=True)
            if not updates:
                for label, kw in (("colours", dict(textures=False, distractors=False)), ("all + distractors", dict(textures=True, distractors=True))):
                    dicts = [random_looks(nominal, rng, image=image, **kw) for _ in range(args.updates)]
                    r.set_appearance(dicts[0])
                    t0 = time.perf_counter()
                    for d in dicts:
                        r.set_appearance(d)
                    updates[label] = (time.perf_counter() - t0) / len(dicts) * 1e6
                r.set_appearance({})
                t0 = time.perf_counter()
                for _ in range(args.updates):
                    r.set_appearance({})
                updates["nominal"] = (time.perf_counter() - t0) / args.updates * 1e6
                n_values = len(nominal)
                print(f"set_appearance ({n_values} names, {sum(1 for n in nominal if n.endswith('.texture'))} bodies): "
                      + ", ".join(f"{k} {v:.0f} us" for k, v in updates.items()), flush=True)
    header = ["size", "plain fps", "colours fps", "textures fps", "+distr fps", "x colours", "x textures", "x +distr", "cpu x colours", "cpu x textures", "cpu x +distr"]
    report(
        "appearance",
        header,
        rows,
        {
            "set_appearance_us": updates,
            "notes": "fps = wall-clock RGB + depth + segmentation frames per second of Renderer(lod=1.0) on the Panda scene; "
            "x = ratio to 'plain' (no appearance) in the same run; cpu x = the same per CPU-second; "
            "set_appearance_us = mean microseconds per call over fresh random dicts (every visual name of the scene)",
        },
    )


if __name__ == "__main__":
    main()
