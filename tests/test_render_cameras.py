"""Observation cameras of an env: several per env in one tiled pass, level of detail by default.

Grasp-v0 with a fixed front camera and a wrist camera riding on the Panda's hand, on both
engines: each camera's images are what that camera alone draws at the same poses, all
cameras come from one ``render_tiled`` call (one readback), and the option's mistakes are
named at construction.
"""

from __future__ import annotations

import gymnasium
import numpy as np
import pytest

import simsuite  # noqa: F401  (registers the ids)
from simsuite.render import Renderer
from simsuite.render.view import DEFAULT_LOD_PX, observation_cameras

WRIST = {"body": "panda_hand", "pos": (0.0, 0.0, 0.06), "target": (0.0, 0.0, 0.4), "up": (1.0, 0.0, 0.0), "width": 40, "height": 32, "fovy_deg": 80.0}
CAMERAS = {"front": {"width": 64, "height": 48}, "wrist": WRIST}


def test_several_cameras_from_one_tiled_pass(backend_name, monkeypatch):
    calls = []
    tiled = Renderer.render_tiled

    def counted(self, *args, **kwargs):  # the real call, counted
        calls.append(1)
        return tiled(self, *args, **kwargs)

    monkeypatch.setattr(Renderer, "render_tiled", counted)
    env = gymnasium.make("SimSuite/Grasp-v0", backend=backend_name, obs=("state", "rgb", "depth", "seg"), camera=CAMERAS)
    obs, _ = env.reset(seed=0)
    assert set(obs) == {"state"} | {f"{c}_{m}" for c in CAMERAS for m in ("rgb", "depth", "seg")}
    assert obs["front_rgb"].shape == (48, 64, 3) and obs["wrist_depth"].shape == (32, 40) and obs["wrist_seg"].shape == (32, 40)
    assert env.observation_space.contains(obs) and len(calls) == 1
    obs, *_ = env.step(np.zeros(env.action_space.shape, np.float32))
    assert env.observation_space.contains(obs) and len(calls) == 2
    backend = env.unwrapped.backend
    names = backend.body_names
    wrist_sees = {names[i - 1] for i in np.unique(obs["wrist_seg"]) if i > 0}
    assert {"panda_leftfinger", "panda_rightfinger"} <= wrist_sees and "table" in wrist_sees
    view = env.unwrapped._obs_view
    assert view.renderer.lod == DEFAULT_LOD_PX
    # each tile is what the camera draws alone at the same poses
    cams = [view.renderer.cameras[n] for n in ("front", "wrist")]
    with Renderer(backend.scene, cams, lod=view.renderer.lod, far_m=view.renderer.far_m) as alone:
        single = alone.render_from(backend)
    for cam in ("front", "wrist"):
        np.testing.assert_array_equal(obs[f"{cam}_seg"], single[cam].seg)
        np.testing.assert_array_equal(obs[f"{cam}_rgb"], single[cam].rgb)
        far = view.renderer.far_m
        np.testing.assert_allclose(obs[f"{cam}_depth"], np.minimum(single[cam].depth, far), rtol=1e-5)
    env.close()


def test_one_camera_keys_and_full_detail_on_request():
    env = gymnasium.make("SimSuite/Grasp-v0", obs=("depth", "seg"), camera={"width": 32, "height": 24, "lod": None})
    obs, _ = env.reset(seed=1)
    assert set(obs) == {"depth", "seg"} and obs["seg"].shape == (24, 32)
    assert env.unwrapped._obs_view.renderer.lod is None  # full detail
    env.close()
    env = gymnasium.make("SimSuite/Grasp-v0", obs="rgb", camera=CAMERAS)  # "rgb": every camera's
    obs, _ = env.reset(seed=1)
    assert set(obs) == {"front_rgb", "wrist_rgb"}
    env.close()


@pytest.mark.parametrize(
    "option, message",
    [
        ({"width": 64, "colour": "red"}, "unknown keys \\['colour'\\]"),
        ({"front": {"width": 64}, "width": 32}, "belong inside a camera"),
        ({"front": {"widht": 64}}, "camera 'front': unknown keys \\['widht'\\]"),
        ({"pos": (1.0, 0.0, 1.0)}, "exactly one of 'target'"),
        ({"body": "panda_hand"}, "need a 'pos'"),
        ({"view": "overview", "pos": (1.0, 0.0, 1.0), "target": (0.0, 0.0, 0.0)}, "either 'view' or a pose"),
        ({"width": 0}, "positive"),
    ],
)
def test_bad_camera_options_are_named(option, message):
    with pytest.raises(ValueError, match=message):
        observation_cameras(option)
    with pytest.raises(ValueError, match=message):
        gymnasium.make("SimSuite/Grasp-v0", obs=("state", "rgb"), camera=option)


@pytest.mark.parametrize("env_id", ["SimSuite/Nav-v0", "SimSuite/Drive-v0", "SimSuite/UAV-v0", "SimSuite/Pendulum-v0"])
def test_every_family_takes_camera_observations(env_id):
    env = gymnasium.make(env_id, obs=("state", "rgb", "depth", "seg"), camera={"width": 32, "height": 24})
    obs, _ = env.reset(seed=0)
    obs, *_ = env.step(env.action_space.sample())
    assert env.observation_space.contains(obs) and obs["rgb"].shape == (24, 32, 3)
    assert (obs["seg"] > 0).any() and np.isfinite(obs["depth"]).all()
    env.close()
