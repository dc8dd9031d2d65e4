"""Videos and still frames of any registered env: RGB, depth and segmentation side by side.

:func:`record` is the function behind ``simsuite record ENV_ID --out x.mp4 --policy expert``;
:func:`example_frames` writes the PNGs the README shows for each task family. Both read
the env's scene and body poses through ``env.unwrapped.backend`` (the backend protocol),
so they work for any task on either backend, before SimEnv has cameras of its own.

Video encoding uses PyAV (``pip install av``; H.264 where the wheel has it, else MPEG-4).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import numpy as np

from simsuite.render.images import colorize_depth, colorize_seg, write_png
from simsuite.render.renderer import Frame
from simsuite.render.view import CameraView
from simsuite.scene import Camera

Policy = Callable[[Any], Any]


def compose_frame(frame: Frame, depth_range: tuple[float, float] | None = None, n_ids: int | None = None) -> np.ndarray:
    """RGB | depth (turbo colour map, near = blue, background black) | segmentation
    (one colour per instance id, background black), side by side: (H, 3W, 3) uint8."""
    near, far = depth_range if depth_range is not None else (None, None)
    return np.concatenate([frame.rgb, colorize_depth(frame.depth, near, far), colorize_seg(frame.seg, n_ids)], axis=1)


def depth_range_of(depth: np.ndarray) -> tuple[float, float]:
    """A colour-map range that keeps a video steady: the first frame's 1st-99th percentiles."""
    vals = depth[np.isfinite(depth)]
    if vals.size == 0:
        return (0.0, 1.0)
    lo, hi = np.percentile(vals, [1, 99])
    return float(lo), float(max(hi, lo + 1e-3))


def _make_policy(policy: str | Policy, env) -> Policy:
    if callable(policy):
        return policy
    if policy == "random":
        return lambda obs: env.action_space.sample()  # seeded by the caller
    if policy == "expert":
        from simsuite.agents.experts import make_expert

        return make_expert(env)
    raise ValueError(f"unknown policy {policy!r}; choose 'expert', 'random' or pass a callable")


class _SceneView(CameraView):
    """One camera over the env's world, with a depth colour range fixed at the first frame."""

    def __init__(self, camera: Camera | str | None, width: int, height: int, renderer_options: dict[str, Any]):
        super().__init__(camera, width=width, height=height, **renderer_options)
        self.depth_range: tuple[float, float] | None = None

    def compose(self, frame: Frame) -> np.ndarray:
        if self.depth_range is None:
            self.depth_range = depth_range_of(frame.depth)
        return compose_frame(frame, self.depth_range, self.renderer.ids if self.renderer else None)


class VideoWriter:
    """Frames (H, W, 3) uint8 into an MP4 through PyAV; odd sizes are padded to even."""

    def __init__(self, path: str | Path, fps: float):
        try:
            import av
        except ImportError as exc:
            raise RuntimeError("writing video needs PyAV: pip install av") from exc
        self.av = av
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.container = av.open(str(self.path), mode="w")
        codec = "libx264" if "libx264" in av.codecs_available else "mpeg4"
        from fractions import Fraction

        self.stream = self.container.add_stream(codec, rate=Fraction(fps).limit_denominator(1000))
        self.stream.pix_fmt = "yuv420p"
        if codec == "libx264":
            self.stream.options = {"crf": "20", "preset": "veryfast"}
        self.size: tuple[int, int] | None = None
        self.frames = 0

    def write(self, image: np.ndarray) -> None:
        h, w = image.shape[:2]
        if self.size is None:
            self.size = (w + w % 2, h + h % 2)
            self.stream.width, self.stream.height = self.size
        padded = np.zeros((self.size[1], self.size[0], 3), np.uint8)
        padded[: min(h, self.size[1]), : min(w, self.size[0])] = image[: self.size[1], : self.size[0]]
        for packet in self.stream.encode(self.av.VideoFrame.from_ndarray(padded, format="rgb24")):
            self.container.mux(packet)
        self.frames += 1

    def close(self) -> None:
        for packet in self.stream.encode():
            self.container.mux(packet)
        self.container.close()


def record(
    env_id: str,
    out: str | Path,
    *,
    policy: str | Policy = "expert",
    backend: str = "mujoco",
    episodes: int = 1,
    seed: int = 0,
    max_steps: int | None = None,
    width: int = 320,
    height: int = 240,
    camera: Camera | str | None = None,
    fps: float | None = None,
    env_options: dict[str, Any] | None = None,
    renderer_options: dict[str, Any] | None = None,
) -> Path:
    """Run ``episodes`` of ``env_id`` with ``policy`` and write an MP4 of RGB | depth | seg.

    ``camera``: a camera spec of :class:`~simsuite.render.view.CameraView`: a Camera, the
    name of one of the scene's cameras, ``"overview"``, ``"chase:<body>"``, or None (the
    scene's first camera, else an overview, or a chase camera in worlds over 25 m across).
    ``max_steps`` caps each episode (default: until it ends). ``fps`` defaults to the
    env's control rate. Returns the path written.
    """
    import gymnasium

    import simsuite  # noqa: F401  (registers the ids)

    env = gymnasium.make(env_id, backend=backend, **(env_options or {}))
    view = _SceneView(camera, width, height, renderer_options or {})
    writer = None
    try:
        act = _make_policy(policy, env)
        env.action_space.seed(seed)
        rate = fps or env.metadata.get("render_fps") or 30
        writer = VideoWriter(out, rate)
        for episode in range(episodes):
            obs, _ = env.reset(seed=seed + episode)
            writer.write(view.compose(view.frame(env.unwrapped.backend)))
            steps, done = 0, False
            while not done and (max_steps is None or steps < max_steps):
                obs, _, terminated, truncated, _ = env.step(act(obs))
                done = terminated or truncated
                steps += 1
                writer.write(view.compose(view.frame(env.unwrapped.backend)))
    finally:
        if writer is not None:
            writer.close()
        view.close()
        env.close()
    return Path(out)


def example_frames(
    env_id: str,
    out_dir: str | Path,
    *,
    backend: str = "mujoco",
    seed: int = 0,
    steps: int = 0,
    policy: str | Policy = "expert",
    width: int = 320,
    height: int = 240,
    camera: Camera | str | None = None,
    env_options: dict[str, Any] | None = None,
    renderer_options: dict[str, Any] | None = None,
) -> dict[str, Path]:
    """Write ``<name>_rgb.png``, ``_depth.png``, ``_seg.png`` and ``_all.png`` (side by side)
    for ``env_id`` after a seeded reset and ``steps`` policy steps; returns the paths."""
    import gymnasium

    import simsuite  # noqa: F401

    env = gymnasium.make(env_id, backend=backend, **(env_options or {}))
    view = _SceneView(camera, width, height, renderer_options or {})
    try:
        obs, _ = env.reset(seed=seed)
        act = _make_policy(policy, env) if steps else None
        env.action_space.seed(seed)
        for _ in range(steps):
            obs, _, terminated, truncated, _ = env.step(act(obs))
            if terminated or truncated:
                break
        frame = view.frame(env.unwrapped.backend)
        n_ids = view.renderer.ids
        depth_range = depth_range_of(frame.depth)
    finally:
        view.close()
        env.close()
    stem = env_id.split("/")[-1].lower()
    out = Path(out_dir)
    paths = {
        "rgb": write_png(out / f"{stem}_rgb.png", frame.rgb),
        "depth": write_png(out / f"{stem}_depth.png", colorize_depth(frame.depth, *depth_range)),
        "seg": write_png(out / f"{stem}_seg.png", colorize_seg(frame.seg, n_ids)),
        "all": write_png(out / f"{stem}_all.png", compose_frame(frame, depth_range, n_ids)),
    }
    return paths
