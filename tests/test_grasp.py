"""SimSuite/Grasp-v0 on both backends: env contract, the tabletop world's guarantees, the
arm's servo and IK control, and the scripted expert (quick here, statistical when slow)."""

from __future__ import annotations

import math
import warnings

import gymnasium
import numpy as np
import pytest

import simsuite  # noqa: F401  (registers the ids)
from simsuite.agents.experts import make_expert
from simsuite.transforms import quat_to_mat
from simsuite.worlds.tabletop import FINGER_MAX_M, N_MESHES, TabletopConfig, _mesh_rest, build_tabletop, load_panda, place_objects

ENV_ID = "SimSuite/Grasp-v0"
HOLD = np.array([0.0, 0.0, 0.0, 0.0, 1.0], np.float32)  # keep still, fingers open


def make_env(backend_name: str, **options) -> gymnasium.Env:
    return gymnasium.make(ENV_ID, backend=backend_name, **options)


def rollout(env: gymnasium.Env, seed: int, steps: int) -> np.ndarray:
    obs, _ = env.reset(seed=seed)
    env.action_space.seed(seed)
    out = [obs]
    for _ in range(steps):
        obs, reward, terminated, truncated, _ = env.step(env.action_space.sample())
        out.append(np.append(obs, reward))
        if terminated or truncated:
            break
    return np.concatenate(out)


def run_expert(env: gymnasium.Env, seed: int) -> dict:
    policy = make_expert(env)
    obs, _ = env.reset(seed=seed)
    while True:
        obs, _, terminated, truncated, info = env.step(policy(obs))
        if terminated or truncated:
            return info


# -- the env contract ---------------------------------------------------------------------


def test_env_checkers_pass_without_warnings(backend_name):
    from gymnasium.utils.env_checker import check_env
    from stable_baselines3.common.env_checker import check_env as sb3_check_env

    env = make_env(backend_name)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        check_env(env.unwrapped)
        sb3_check_env(env.unwrapped)
    assert [str(w.message) for w in caught] == []
    env.close()


def test_seeded_rollouts_replay_exactly(backend_name):
    a, b = make_env(backend_name), make_env(backend_name)
    first = rollout(a, 7, 40)
    assert np.array_equal(first, rollout(b, 7, 40))
    assert np.array_equal(first, rollout(a, 7, 40)), "a re-seeded reset must rebuild and replay the same world"
    assert not np.array_equal(first, rollout(a, 8, 40))
    a.close()
    b.close()


def test_unseeded_resets_on_a_reused_world_replay_too(backend_name):
    """After one seeded reset, the following episodes (same compiled world, new poses) are a
    deterministic function of the seed as well."""
    runs = []
    for _ in range(2):
        env = make_env(backend_name, rebuild_every=5)
        env.reset(seed=9)
        env.action_space.seed(9)
        trace = []
        for _ in range(3):
            for _ in range(10):
                trace.append(env.step(env.action_space.sample())[0])
            trace.append(env.reset()[0])
        runs.append(np.concatenate(trace))
        env.close()
    assert np.array_equal(runs[0], runs[1])


def test_observations_stay_in_the_space_over_random_play(backend_name):
    env = make_env(backend_name)
    obs, _ = env.reset(seed=3)
    env.action_space.seed(3)
    for _ in range(500):
        assert env.observation_space.contains(obs)
        obs, reward, terminated, truncated, info = env.step(env.action_space.sample())
        assert np.isfinite(reward) and not info["physics_diverged"]
        if terminated or truncated:
            obs, _ = env.reset()
    env.close()


def test_reward_terms_info_and_observation_layout(backend_name):
    env = make_env(backend_name)
    obs, _ = env.reset(seed=5)
    task, backend = env.unwrapped.task, env.unwrapped.backend
    obs, reward, _, _, info = env.step(HOLD)
    assert set(info["reward_terms"]) == {"reach", "grasp", "lift"}
    assert reward == pytest.approx(sum(info["reward_terms"].values()))
    assert info["grasped"] is False and info["lift_m"] == pytest.approx(0.0, abs=2e-3)
    ee, _ = backend.body_pose("panda_grasptarget")
    target, quat = backend.body_pose(task.target.name)
    assert np.allclose(obs[18:21], ee, atol=1e-6) and np.allclose(obs[22:25], target, atol=1e-6)
    assert np.allclose(obs[25:29], quat if quat[0] >= 0 else -quat, atol=1e-6)
    assert np.allclose(obs[29:32], target - ee, atol=1e-6)
    assert obs[21] == pytest.approx(obs[7] + obs[8])
    env.close()


# -- the world ----------------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(4))
def test_world_builder_draws_graspable_non_overlapping_objects(seed):
    config = TabletopConfig()
    rng = np.random.default_rng(seed)
    world = build_tabletop(rng, config, load_panda(config), pool_size=5)
    world.scene.validate()
    assert [o.name for o in world.objects] == [f"object_{i}" for i in range(5)]
    for obj in world.objects:
        assert obj.grasp_width_m <= config.max_grasp_width_m < 2 * FINGER_MAX_M
        assert config.min_height_m - 1e-9 <= obj.height_m <= config.max_height_m
        assert obj.footprint_m <= config.max_footprint_m
        axis = quat_to_mat(obj.rest_quat) @ np.asarray(obj.grasp_axis)
        assert abs(axis[2]) < 1e-6, "the fingers close horizontally on a resting object"
        inertial = world.scene.body(obj.name).mass_properties()
        assert inertial.mass_kg == pytest.approx(obj.mass_kg)
        assert max(inertial.diag_inertia) < 1e-3, "no placeholder inertia (random_urdfs say 1 kg·m²)"
    placed = place_objects(rng, world.objects, 5, config)
    assert len(placed) >= 1
    for i, (a, pa, _) in enumerate(placed):
        assert config.spawn_x_m[0] <= pa[0] <= config.spawn_x_m[1] and config.spawn_y_m[0] <= pa[1] <= config.spawn_y_m[1]
        assert pa[2] == pytest.approx(config.table_height_m + a.rest_height_m, abs=1e-3)
        for b, pb, _ in placed[i + 1 :]:
            assert np.hypot(*(pa[:2] - pb[:2])) >= a.footprint_m + b.footprint_m + config.object_gap_m


def test_meshes_come_from_random_urdfs_with_recomputed_inertia():
    config = TabletopConfig(object_kinds=("mesh",))
    world = build_tabletop(np.random.default_rng(11), config, load_panda(config), pool_size=2)
    for obj in world.objects:
        assert obj.kind == "mesh" and obj.source.startswith("random_urdfs/")
        body = world.scene.body(obj.name)
        assert body.is_free and body.inertial.pos == (0.0, 0.0, 0.0), "body frame at the centre of mass"


def test_a_broken_random_urdfs_mesh_is_never_drawn():
    """pybullet_data's 168.obj has only NaN vertices: it has no rest, so rejection skips it
    (an unseeded reset once drew it and failed)."""
    config = TabletopConfig()
    limits = (config.max_grasp_width_m, config.min_height_m, config.max_height_m, config.max_footprint_m)
    assert _mesh_rest(168, limits) is None


@pytest.mark.slow
def test_every_random_urdfs_mesh_gives_a_rest_or_none():
    """All 1,000 meshes go through the rest search without an error; about a quarter qualify."""
    config = TabletopConfig()
    limits = (config.max_grasp_width_m, config.min_height_m, config.max_height_m, config.max_footprint_m)
    usable = sum(_mesh_rest(i, limits) is not None for i in range(N_MESHES))
    assert 150 <= usable <= 400


def test_placed_objects_rest_stably(backend_name):
    """Left alone for 4 s, every placed object stays put: stable rests, and rolling friction
    keeps spheres and lying capsules from rolling off (PyBullet's capsules would)."""
    env = make_env(backend_name, num_objects=5, rebuild_every=1)
    for seed in (0, 1):
        env.reset(seed=seed)
        task, backend = env.unwrapped.task, env.unwrapped.backend
        start = {name: backend.body_pose(name) for name in task.placed}
        for _ in range(100):  # the hand held high
            env.step(HOLD)
        for name, (pos, quat) in start.items():
            now_pos, now_quat = backend.body_pose(name)
            assert np.linalg.norm(now_pos - pos) < 3e-3, name
            assert 2 * math.degrees(math.acos(min(1.0, abs(float(now_quat @ quat))))) < 3.0, name
    env.close()


def test_rebuilds_every_n_episodes_and_on_every_seed():
    env = make_env("mujoco", rebuild_every=3)
    task = env.unwrapped.task
    env.reset(seed=1)
    worlds = [task.world]
    for _ in range(4):
        env.reset()
        worlds.append(task.world)
    assert worlds[0] is worlds[1] is worlds[2] and worlds[3] is not worlds[2] and worlds[4] is worlds[3]
    env.reset(seed=1)
    assert task.world is not worlds[4], "a seeded reset always builds the seed's world"
    env.close()


# -- the arm --------------------------------------------------------------------------------


def test_servos_hold_the_arm_stiffly_and_ik_keeps_the_hand_down(backend_name):
    env = make_env(backend_name, num_objects=1)
    env.reset(seed=2)
    task, backend = env.unwrapped.task, env.unwrapped.backend
    joints = task.kinematics.joint_names
    for _ in range(5):
        env.step(HOLD)
    q, _ = backend.joint_states(joints)
    assert np.abs(q - task._q_cmd).max() < 1e-3, "gravity-compensated servos hold their targets"
    start = backend.body_pose("panda_grasptarget")[0]
    for _ in range(8):  # 8 full steps along +x and down
        env.step(np.array([1.0, 0.0, -1.0, 0.0, 1.0], np.float32))
    for _ in range(8):
        obs, *_ = env.step(HOLD)
    moved = (obs[18:21] - start) / (8 * task.max_step_m)  # the goal leads the lagging hand by one step
    assert 0.6 < moved[0] <= 1.0 and -1.0 <= moved[2] < -0.6 and abs(moved[1]) < 0.05
    rot = quat_to_mat(backend.body_pose("panda_grasptarget")[1])
    assert rot[:, 2] @ (0.0, 0.0, -1.0) > math.cos(math.radians(2.0)), "the hand still points down"
    q, _ = backend.joint_states(joints)
    assert np.abs(q - task._q_cmd).max() < 2e-3
    lo, hi = task.kinematics.joint_ranges.T
    assert np.all(q >= lo - 0.02) and np.all(q <= hi + 0.02)
    env.close()


def test_gripper_command_moves_both_fingers_alike(backend_name):
    env = make_env(backend_name, num_objects=1)
    env.reset(seed=4)
    for grip, opening in ((-1.0, 0.0), (0.0, FINGER_MAX_M), (1.0, 2 * FINGER_MAX_M)):
        for _ in range(6):
            obs, *_ = env.step(np.array([0.0, 0.0, 0.0, 0.0, grip], np.float32))
        assert obs[21] == pytest.approx(opening, abs=2e-3)
        assert obs[7] == pytest.approx(obs[8], abs=1e-3)
    env.close()


def test_options_are_validated_by_name():
    with pytest.raises(ValueError, match="num_objects"):
        make_env("mujoco", num_objects=(3, 6))
    with pytest.raises(ValueError, match="object_kinds"):
        make_env("mujoco", object_kinds=("box", "torus"))
    with pytest.raises(ValueError, match="rebuild_every"):
        make_env("mujoco", rebuild_every=0)
    with pytest.raises(ValueError, match="lift_height_m"):
        make_env("mujoco", lift_height_m=2.0)
    with pytest.raises(TypeError, match="GraspTask.*colour"):
        make_env("mujoco", colour="red")
    env = make_env("mujoco", control_yaw=False, num_objects=2, object_kinds="box")
    assert env.action_space.shape == (4,)
    env.reset(seed=0)
    assert len(env.unwrapped.task.world.objects) == 2 and {o.kind for o in env.unwrapped.task.world.objects} == {"box"}
    env.close()


# -- the expert -------------------------------------------------------------------------------


def test_expert_grasps_and_lifts_quickly(backend_name):
    env = make_env(backend_name)
    infos = [run_expert(env, seed) for seed in range(5)]
    assert sum(info["is_success"] for info in infos) >= 4
    for info in infos:
        if info["is_success"]:
            assert info["grasped"] and info["lift_m"] >= env.unwrapped.task.lift_height_m
    env.close()


@pytest.mark.slow
def test_expert_succeeds_in_90_percent_of_50_episodes(backend_name):
    env = make_env(backend_name)
    successes = sum(run_expert(env, seed)["is_success"] for seed in range(50))
    env.close()
    assert successes >= 45, f"{successes}/50"
