"""Where a frame's time goes: one Renderer frame of the bench_render scene, split into stages.

Each stage ends with ``glFinish`` so llvmpipe's deferred work lands in the stage that
caused it; the split costs a little over an unsplit ``render`` call. Times are CPU time
of this process (steady on a shared machine), median over blocks of frames:

- ``poses``: body poses to [R | t] rows, uploaded (Python and numpy);
- ``clear``: the three targets and the depth buffer;
- ``draw``: the draw calls: LOD choice in Python, then llvmpipe's vertex fetch, vertex
  shader and primitive assembly, which it runs inside the call;
- ``raster``: what the finish flushes: triangle setup, binning, rasterization and the
  fragment shader writing RGB, depth and id;
- ``read``: the three readbacks and the alpha drop.

    python tools/profile_render.py [--size 128x128] [--lod 1.0] [--frames 200]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_render import FAR, NEAR, camera, panda_scene, posed  # noqa: E402

from simsuite.render import Renderer  # noqa: E402

STAGES = ("poses", "clear", "draw", "raster", "read")


def profile(renderer: Renderer, names, pos, quat, frames: int, blocks: int = 10) -> dict[str, float]:
    """Median CPU ms per frame of each stage over ``blocks`` blocks of frames."""
    cam = next(iter(renderer.cameras.values()))
    viewport = (0, 0, cam.width, cam.height)
    ctx = renderer._ctx
    per_block: dict[str, list[float]] = {s: [] for s in STAGES}
    for block in range(blocks):
        spent = dict.fromkeys(STAGES, 0.0)
        for _ in range(max(1, frames // blocks)):
            t = time.process_time()
            rows, p, q = renderer._pose_rows(names, pos, quat)
            renderer._activate()
            renderer._upload_poses(rows)
            marks = [t, time.process_time()]
            fbo = renderer._framebuffer(cam.width, cam.height)
            renderer._clear(fbo, viewport)
            ctx.finish()
            marks.append(time.process_time())
            renderer.drawn_triangles = 0
            renderer._draw(cam, renderer._cam_world(cam, p, q), viewport, 0, None, rows)
            marks.append(time.process_time())
            ctx.finish()
            marks.append(time.process_time())
            renderer._read(fbo, viewport)
            marks.append(time.process_time())
            for stage, a, b in zip(STAGES, marks, marks[1:]):
                spent[stage] += b - a
        for stage in STAGES:
            per_block[stage].append(1e3 * spent[stage] / max(1, frames // blocks))
        print(f"  block {block + 1}/{blocks}", end="\r", flush=True)
    return {s: statistics.median(v) for s, v in per_block.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size", default="128x128")
    parser.add_argument("--lod", type=float, default=1.0, help="pixels of screen-space error (0: full detail)")
    parser.add_argument("--frames", type=int, default=200)
    args = parser.parse_args()
    width, height = (int(v) for v in args.size.split("x"))
    scene = panda_scene()
    names, pos, quat = posed(scene)
    with Renderer(scene, [camera(width, height)], near_m=NEAR, far_m=FAR, lod=args.lod or None) as renderer:
        for _ in range(5):
            renderer.render(names, pos, quat)
        stages = profile(renderer, names, pos, quat, args.frames)
        triangles = renderer.drawn_triangles
    total = sum(stages.values())
    print(f"{args.size}, lod {args.lod:g} px, {triangles} triangles drawn: {total:.3f} ms CPU per frame ({1e3 / total:.0f} frames per CPU-second)")
    for stage, ms in stages.items():
        print(f"  {stage:7s} {ms:7.3f} ms  {100 * ms / total:5.1f} %")


if __name__ == "__main__":
    main()
