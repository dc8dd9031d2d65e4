"""SimEnv: seeding, validation, divergence, pickling, registration."""

from __future__ import annotations

import pickle

import gymnasium
import numpy as np
import pytest

import simsuite  # noqa: F401
from simsuite.backends import BackendError
from simsuite.env import ActionError, SimEnv
from simsuite.scene import Actuator, Body, Geom, Joint, Scene
from simsuite.task import Task

ENV_ID = "SimSuite/Pendulum-v0"


def rollout(env: gymnasium.Env, seed: int, steps: int) -> np.ndarray:
    obs, _ = env.reset(seed=seed)
    env.action_space.seed(seed)
    out = [obs]
    for _ in range(steps):
        obs, reward, *_ = env.step(env.action_space.sample())
        out.append(np.append(obs, reward))
    return np.concatenate(out)


def test_same_seed_same_trajectory(backend_name):
    a = gymnasium.make(ENV_ID, backend=backend_name)
    b = gymnasium.make(ENV_ID, backend=backend_name)
    first = rollout(a, 3, 150)
    assert np.array_equal(first, rollout(b, 3, 150))
    assert np.array_equal(first, rollout(a, 3, 150)), "a re-seeded reset must replay exactly"
    assert not np.array_equal(first, rollout(a, 4, 150)), "another seed must give another start"
    a.close()
    b.close()


def test_reward_terms_and_success_in_info(backend_name):
    env = gymnasium.make(ENV_ID, backend=backend_name)
    env.reset(seed=0)
    _, reward, _, _, info = env.step(np.zeros(1, np.float32))
    assert set(info["reward_terms"]) == {"angle", "velocity", "effort"}
    assert reward == pytest.approx(sum(info["reward_terms"].values()))
    assert info["is_success"] in (True, False) and info["physics_diverged"] is False
    env.close()


@pytest.mark.parametrize(
    "action, message",
    [
        (np.zeros(2), r"shape \(1,\)"),
        (np.zeros((1, 1)), r"shape \(1,\)"),
        (np.array([np.nan]), "NaN or inf"),
        (np.array([np.inf]), "NaN or inf"),
    ],
)
def test_bad_actions_are_refused(backend_name, action, message):
    env = gymnasium.make(ENV_ID, backend=backend_name, disable_env_checker=True)
    env.reset(seed=0)
    with pytest.raises(ActionError, match=message):
        env.step(action)
    env.step(np.zeros(1, np.float32))  # the env is still usable
    env.close()


def test_unknown_backend_and_option_are_named():
    with pytest.raises(BackendError, match="unknown backend 'physx'"):
        gymnasium.make(ENV_ID, backend="physx")
    with pytest.raises(TypeError, match="PendulumTask.*lenght_m"):
        gymnasium.make(ENV_ID, lenght_m=2.0)
    with pytest.raises(ValueError, match=r"unknown observation modalities \['sonar'\]"):
        gymnasium.make(ENV_ID, obs=("state", "sonar"))
    env = gymnasium.make(ENV_ID)
    with pytest.raises(ValueError, match="unknown reset options"):
        env.reset(options={"bogus": 1})


def test_step_before_reset_is_refused():
    env = SimEnv("simsuite.envs.pendulum:PendulumTask")
    with pytest.raises(gymnasium.error.ResetNeeded):
        env.step(np.zeros(1))


class ExplodingTask(Task):
    """A light rod driven by an absurdly stiff servo at a coarse timestep: it must blow up."""

    control_dt_s = 0.05

    def build_scene(self, rng):
        scene = Scene(name="exploding", timestep_s=0.01)
        scene.add(Body("rod", pos=(0, 0, 1), joint=Joint("spin", "hinge"), geoms=[Geom("rod_geom", "box", (0.5, 0.01, 0.01), density_kg_m3=1.0)]))
        scene.actuators.append(Actuator("servo", "spin", "position", kp=1e9))
        return scene

    action_space = gymnasium.spaces.Box(-1.0, 1.0, (1,), np.float32)
    observation_space = gymnasium.spaces.Box(-np.inf, np.inf, (2,), np.float64)

    def reset(self, backend, rng):
        pass

    def apply_action(self, backend, action):
        backend.set_controls({"servo": float(action[0])})

    def observe(self, backend):
        return np.array(backend.joint_state("spin"))

    def reward_terms(self, backend, action):
        return {"alive": 1.0}


def test_physics_blow_up_ends_episode_with_flag(backend_name):
    env = SimEnv(ExplodingTask, backend=backend_name)
    env.reset(seed=0)
    for _ in range(100):
        obs, reward, terminated, truncated, info = env.step(np.ones(1, np.float32))
        if terminated:
            break
    assert terminated and info["physics_diverged"] is True and reward == 0.0
    with pytest.raises(gymnasium.error.ResetNeeded):
        env.step(np.ones(1, np.float32))
    env.reset(seed=1)  # and the process lives on
    env.step(np.zeros(1, np.float32))
    env.close()


def test_pickling_rebuilds_the_env(backend_name):
    env = gymnasium.make(ENV_ID, backend=backend_name)
    env.reset(seed=0)
    clone = pickle.loads(pickle.dumps(env))
    assert np.array_equal(rollout(env, 5, 20), rollout(clone, 5, 20))
    env.close()
    clone.close()


def test_registered_env_passes_gymnasium_check_env(backend_name):
    from gymnasium.utils.env_checker import check_env

    env = gymnasium.make(ENV_ID, backend=backend_name)
    check_env(env.unwrapped, skip_render_check=True)
    env.close()


def test_sensors_as_observation_modalities(backend_name):
    env = gymnasium.make("SimSuite/Nav-v0", backend=backend_name, obs=("state", "lidar", "imu"))
    assert isinstance(env.observation_space, gymnasium.spaces.Dict)
    obs, _ = env.reset(seed=2)
    assert obs["lidar"].shape == (360,) and obs["imu"].shape == (6,)
    for _ in range(5):
        obs, *_ = env.step(np.zeros(2, np.float32))
    assert env.observation_space.contains(obs)
    assert abs(obs["imu"][2] - 9.81) < 0.5  # a robot standing on the floor feels +g
    scan = env.unwrapped.sensors.sensors["lidar"].last_scan
    assert {"wall"} <= {env.unwrapped.backend.scene.body(n).semantic_class for n in scan.hit_names() if n}
    env.close()


def test_sensor_overrides_keep_the_mount_and_can_be_removed():
    env = gymnasium.make("SimSuite/Nav-v0", obs=("state", "lidar"), sensors={"lidar": {"preset": "vlp16", "noise": False}})
    obs, _ = env.reset(seed=0)
    assert obs["lidar"].shape == (16, 1800)
    env.close()
    with pytest.raises(ValueError, match="unknown observation modalities"):
        gymnasium.make("SimSuite/Nav-v0", obs=("state", "lidar"), sensors={"lidar": None})
    with pytest.raises(ValueError, match="preset"):
        gymnasium.make("SimSuite/Nav-v0", sensors={"lidar": "velodyne9000"})


@pytest.mark.parametrize("env_id, names", [("SimSuite/Drive-v0", ("lidar", "imu")), ("SimSuite/UAV-v0", ("imu",))])
def test_families_carry_their_sensors(env_id, names, backend_name):
    env = gymnasium.make(env_id, backend=backend_name, obs=("state", *names))
    obs, _ = env.reset(seed=1)
    for _ in range(3):
        obs, *_ = env.step(env.action_space.sample() * 0)
    assert env.observation_space.contains(obs) and set(obs) == {"state", *names}
    if "lidar" in names:
        assert obs["lidar"].shape == (16, 1800)
    env.close()


def test_rgb_array_rendering_works_with_record_video(backend_name, tmp_path):
    pytest.importorskip("av")
    from gymnasium.wrappers import RecordVideo

    env = gymnasium.make("SimSuite/UAV-v0", backend=backend_name, render_mode="rgb_array")
    frame = (env.reset(seed=0), env.render())[1]
    assert frame.shape == (480, 640, 3) and frame.dtype == np.uint8 and frame.std() > 1.0
    env.close()
    env = RecordVideo(gymnasium.make("SimSuite/Pendulum-v0", backend=backend_name, render_mode="rgb_array"), str(tmp_path / "videos"))
    env.reset(seed=0)
    for _ in range(10):
        env.step(env.action_space.sample())
    env.close()
    assert list((tmp_path / "videos").glob("*.mp4"))


def test_camera_observations_from_one_render_pass(backend_name):
    env = gymnasium.make("SimSuite/Grasp-v0", backend=backend_name, obs=("state", "rgb", "depth", "seg"), camera={"width": 64, "height": 48})
    obs, _ = env.reset(seed=0)
    obs, *_ = env.step(np.zeros(env.action_space.shape, np.float32))
    assert env.observation_space.contains(obs)
    assert obs["rgb"].shape == (48, 64, 3) and obs["depth"].shape == (48, 64) and obs["seg"].shape == (48, 64)
    seen = {env.unwrapped.backend.body_names[i - 1] for i in np.unique(obs["seg"]) if i > 0}
    assert "table" in seen and np.isfinite(obs["depth"]).all() and obs["depth"][obs["seg"] > 0].max() < 100.0
    env.close()


def test_action_space_samples_like_gymnasium_box():
    """SimEnv's action space is a gymnasium Box that draws the same numbers from the same seed
    (it only skips Box's per-coordinate bookkeeping); unbounded boxes keep Box's sampling."""
    from simsuite.spaces import ActionBox

    env = gymnasium.make("SimSuite/UAV-v0")
    box = gymnasium.spaces.Box(-1.0, 1.0, (4,), np.float32)
    assert isinstance(env.action_space, gymnasium.spaces.Box) and env.action_space == box
    env.action_space.seed(7)
    box.seed(7)
    ours, theirs = np.array([env.action_space.sample() for _ in range(500)]), np.array([box.sample() for _ in range(500)])
    assert ours.dtype == np.float32 and ours.shape == (500, 4)
    np.testing.assert_array_max_ulp(ours, theirs, maxulp=1)  # equal unless numpy's C build fuses the multiply-add
    half = gymnasium.spaces.Box(np.array([-1.0, -np.inf]), np.array([1.0, 2.0]), dtype=np.float64)
    fast = ActionBox.of(half)
    fast.seed(3)
    half.seed(3)
    assert all(np.array_equal(fast.sample(), half.sample()) for _ in range(50))
    assert pickle.loads(pickle.dumps(env.action_space)).sample().shape == (4,)
    env.close()


def test_actions_inside_the_box_pass_as_float64_and_outside_are_clipped(backend_name):
    env = gymnasium.make("SimSuite/UAV-v0", backend=backend_name).unwrapped
    env.reset(seed=0)
    inside = np.array([0.1, -0.7, 1.0, -1.0], np.float32)
    checked = env._validate_action(inside)
    assert checked.dtype == np.float64 and np.array_equal(checked, inside.astype(np.float64))
    assert np.array_equal(env._validate_action([2.0, -3.0, 0.5, 1e30]), [1.0, -1.0, 0.5, 1.0])
    with pytest.raises(ActionError, match="NaN or inf"):
        env._validate_action(np.array([0.0, np.nan, 0.0, 0.0], np.float32))
    env.close()


def test_pendulum_observation_follows_a_restored_state(backend_name):
    """Pendulum reads its joint once per physics state: set_state must not serve the old read."""
    env = gymnasium.make(ENV_ID, backend=backend_name).unwrapped
    env.reset(seed=1)
    for _ in range(5):
        env.step(np.array([0.5], np.float32))
    state, obs_then = env.get_state(), env.step(np.array([0.5], np.float32))[0]
    for _ in range(5):
        env.step(np.array([-0.5], np.float32))
    assert not np.array_equal(env._last_obs, obs_then)
    env.set_state(state)
    assert np.array_equal(env.step(np.array([0.5], np.float32))[0], obs_then)
    env.close()
