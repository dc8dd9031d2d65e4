"""Headless rendering: RGB, metric depth and instance segmentation from one GL pass.

The renderer draws the backend-neutral scene from the body poses any backend reports,
so camera images mean the same on MuJoCo and PyBullet::

    from simsuite.render import Renderer, overview_camera

    renderer = Renderer(backend.scene, [overview_camera(backend.scene, width=128, height=128)])
    frames = renderer.render(backend.body_names, *backend.body_poses())
    rgb, depth, seg = frames["overview"].rgb, frames["overview"].depth, frames["overview"].seg
    renderer.close()

:class:`CameraView` (``simsuite.render.view``) follows an env's backend and rebuilds its
renderer when a reset compiles a new world: it is what SimEnv wires in for camera
observations and ``render_mode="rgb_array"``. Visual randomization (colours, textures, the
key light, camera jitter, distractors) is ``set_appearance({name: value})`` on either, with
the names of :func:`visual_param_names` (:mod:`simsuite.render.appearance`). ``simsuite.render.record.record`` and
:func:`example_frames` write videos and PNGs of RGB | depth | segmentation (import
``record`` from its module, which shares the function's name).

The GL context (EGL, headless; ``SIMSUITE_GL`` overrides) is chosen in
:mod:`simsuite.render.context`. Everything here is imported lazily, so importing
``simsuite.render`` costs nothing until a renderer is made.
"""

from __future__ import annotations

from typing import Any

_EXPORTS = {
    "Renderer": "simsuite.render.renderer",
    "Frame": "simsuite.render.renderer",
    "TiledFrames": "simsuite.render.renderer",
    "BACKGROUND_ID": "simsuite.render.renderer",
    "RenderError": "simsuite.render.context",
    "EGL_PACKAGES": "simsuite.render.context",
    "egl_devices": "simsuite.render.context",
    "live_contexts": "simsuite.render.context",
    "intrinsics": "simsuite.render.camera",
    "overview_camera": "simsuite.render.camera",
    "look_at_camera": "simsuite.render.camera",
    "scene_poses": "simsuite.render.camera",
    "scene_bounds": "simsuite.render.camera",
    "chase_camera": "simsuite.render.camera",
    "camera_spaces": "simsuite.render.camera",
    "CameraView": "simsuite.render.view",
    "Appearance": "simsuite.render.appearance",
    "AppearanceError": "simsuite.render.appearance",
    "nominal_visual": "simsuite.render.appearance",
    "visual_param_names": "simsuite.render.appearance",
    "example_frames": "simsuite.render.record",
    "compose_frame": "simsuite.render.record",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        import importlib

        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'simsuite.render' has no attribute {name!r}")
