"""SimSuite/Nav-v0: floor-plan guarantees, the robot's dimensions and wheel physics,
collision and goal handling, options, and the scripted expert, on both backends."""

from __future__ import annotations

import math

import gymnasium
import numpy as np
import pytest

import simsuite  # noqa: F401
from simsuite.agents.experts import make_expert
from simsuite.envs.navigation import ROBOT, SPEC, NavTask
from simsuite.transforms import quat_from_axis_angle, yaw_of
from simsuite.worlds.floorplan import PlanConfig, carrot, generate_plan, make_robot, road_map, sample_start_goal

ENV_ID = "SimSuite/Nav-v0"
PLAN_SEEDS = range(25)


def make_env(backend_name: str, **options) -> gymnasium.Env:
    return gymnasium.make(ENV_ID, backend=backend_name, disable_env_checker=True, **options)


# -- floor plans (no physics) ------------------------------------------------------------


@pytest.mark.parametrize("seed", PLAN_SEEDS)
def test_plan_guarantees(seed):
    rng = np.random.default_rng(seed)
    cfg = PlanConfig()
    plan = generate_plan(rng, cfg)
    roads = road_map(plan, cfg.clearance_m)
    # the clearance region is one connected piece: the road map is all of it
    assert np.array_equal(roads.mask, plan.grid.sdf >= cfg.clearance_m)
    assert cfg.size_m[0] <= plan.width_m <= cfg.size_m[1] and cfg.size_m[0] <= plan.height_m <= cfg.size_m[1]
    assert len(plan.doors) == len(plan.rooms) + len(plan.corridors) - 1, "one door per split wall"
    # start and goal: clear of obstacles, on the region, the requested path length apart
    (x, y, _), goal, field = sample_start_goal(plan, roads, rng, (1.5, 7.0), 0.28)
    for px, py in ((x, y), goal):
        assert plan.grid.sdf[plan.grid.cell(px, py)] >= 0.28 and roads.mask[plan.grid.cell(px, py)]
    assert 1.5 <= field[plan.grid.cell(x, y)] <= 7.0
    # furniture: inside the plan, clear of walls and doorways, tall enough to cross the ray ring
    for piece in plan.furniture:
        assert piece.height_m >= 0.4 > SPEC.lidar_offset_m[2]
        r = math.hypot(*piece.half)
        px, py = np.meshgrid(np.linspace(piece.x - r, piece.x + r, 40), np.linspace(piece.y - r, piece.y + r, 40))
        inside = piece.sdf(px, py) <= 0
        px, py = px[inside], py[inside]
        assert np.all((px > 0) & (px < plan.width_m) & (py > 0) & (py < plan.height_m))
        assert all(np.all(other.sdf(px, py) > 0) for other in plan.walls + plan.doors)


@pytest.mark.parametrize("seed", PLAN_SEEDS)
def test_walls_overlap_at_every_junction(seed):
    """Each wall end sits inside another wall (corners and T-junctions overlap) or at a door."""
    plan = generate_plan(np.random.default_rng(seed))
    t = plan.config.wall_thickness_m
    for k, wall in enumerate(plan.walls):
        horizontal = wall.half[0] > wall.half[1]
        for sign in (-1.0, 1.0):
            end = (wall.x + sign * (wall.half[0] - t / 4), wall.y) if horizontal else (wall.x, wall.y + sign * (wall.half[1] - t / 4))
            px, py = np.array(end[0]), np.array(end[1])
            in_other = any(other.sdf(px, py) < -t / 8 for j, other in enumerate(plan.walls) if j != k)
            at_door = any(door.sdf(px, py) < t for door in plan.doors)
            assert in_other or at_door, f"wall {k} end {end} meets nothing"


def test_robot_is_turtlebot3_burger_class():
    root, actuators = make_robot(SPEC)
    mass = sum(body.inertial.mass_kg for body in root.walk())
    assert 0.9 <= mass <= 1.1
    rear, front, half_width = SPEC.footprint_m
    assert front - rear == pytest.approx(0.140, abs=0.003) and 2 * half_width == pytest.approx(0.178, abs=0.002)
    top = SPEC.lidar_offset_m[2] + 0.016
    assert top == pytest.approx(0.192, abs=0.002)
    assert {a.kind for a in actuators} == {"velocity"} and all(a.force_range == (-SPEC.motor_torque_nm, SPEC.motor_torque_nm) for a in actuators)
    caster = next(b for b in root.walk() if b.name.endswith("caster"))
    assert caster.joint is None and all(g.friction == 0.0 for g in caster.geoms)


# -- physics on both backends ------------------------------------------------------------------


def _place(env: gymnasium.Env, x: float, y: float, yaw: float) -> None:
    env.unwrapped.backend.set_body_pose(ROBOT, (x, y, 0.0), quat_from_axis_angle((0.0, 0.0, 1.0), yaw))


def _open_spot(env: gymnasium.Env) -> tuple[float, float]:
    """The most open cell of the current plan."""
    grid = env.unwrapped.task.plan.grid
    i, j = np.unravel_index(int(np.argmax(grid.sdf)), grid.sdf.shape)
    return grid.point(int(i), int(j))


def test_rays_do_not_leak_through_wall_junctions(backend_name):
    """Horizontal rays from free cells at LIDAR height all hit something inside the plan."""
    env = make_env(backend_name)
    env.reset(seed=4)
    task, backend = env.unwrapped.task, env.unwrapped.backend
    plan, rng = task.plan, np.random.default_rng(0)
    spots = np.argwhere(plan.grid.sdf > 0.3)
    origins = np.array([(*plan.grid.point(*spots[k]), SPEC.lidar_offset_m[2]) for k in rng.integers(len(spots), size=3000)])
    angles = rng.uniform(-math.pi, math.pi, len(origins))
    directions = np.stack([np.cos(angles), np.sin(angles), np.zeros_like(angles)], axis=1)
    hits = backend.cast_rays(origins, directions, max_range_m=30.0)
    assert np.all(np.isfinite(hits.distance_m))
    ends = origins + directions * hits.distance_m[:, None]
    t = plan.config.wall_thickness_m / 2 + 1e-3
    assert np.all((ends[:, 0] > -t) & (ends[:, 0] < plan.width_m + t) & (ends[:, 1] > -t) & (ends[:, 1] < plan.height_m + t))
    assert not {"doors", "floor"} & {hits.body_names[i] for i in np.unique(hits.body_index)}
    env.close()


def test_wheels_follow_velocity_commands_within_limits(backend_name):
    env = make_env(backend_name)
    for action, v_want, w_want in (((1.0, 0.0), SPEC.max_speed_m_s, 0.0), ((0.0, 1.0), 0.0, SPEC.max_yaw_rate_rad_s), ((0.5, -0.3), 0.11, -0.852)):
        env.reset(seed=2)
        _place(env, *_open_spot(env), 0.0)
        seen = []
        for _ in range(10):
            obs, *_ = env.step(np.array(action, np.float32))
            _, wheel_speed = env.unwrapped.backend.joint_states([f"{ROBOT}_wheel_left_joint", f"{ROBOT}_wheel_right_joint"])
            assert np.all(np.abs(wheel_speed) <= SPEC.max_wheel_speed_rad_s * 1.05)
            seen.append(obs[3:5])
        v, w = np.mean(seen[-5:], axis=0)  # the tyres scrub a little when turning: average
        assert v == pytest.approx(v_want, abs=0.02) and w == pytest.approx(w_want, rel=0.06, abs=0.01)
        assert np.allclose(obs[5:7], action)
    env.close()


def test_full_twist_is_scaled_to_wheel_limit_keeping_curvature():
    left, right = NavTask.wheel_speeds(SPEC.max_speed_m_s, SPEC.max_yaw_rate_rad_s)
    assert max(abs(left), abs(right)) == pytest.approx(SPEC.max_wheel_speed_rad_s)
    v, w = SPEC.wheel_radius_m * (left + right) / 2, SPEC.wheel_radius_m * (right - left) / SPEC.wheel_separation_m
    assert w / v == pytest.approx(SPEC.max_yaw_rate_rad_s / SPEC.max_speed_m_s)


@pytest.mark.parametrize("yaw, front_m", [(math.pi, -SPEC.footprint_m[1]), (0.0, SPEC.footprint_m[0])])
def test_touching_a_wall_ends_the_episode(backend_name, yaw, front_m):
    """Drive nose first (or backwards) into the outer wall at x = 0: the episode ends at the
    touch, with the flag and the penalty, where the footprint meets the wall face."""
    env = make_env(backend_name, furniture_per_room=(0, 0))
    env.reset(seed=1)
    plan = env.unwrapped.task.plan
    ys = [y for y in np.arange(0.5, plan.height_m - 0.5, 0.1) if plan.grid.sdf[plan.grid.cell(0.6, y)] > 0.5]
    face = plan.config.wall_thickness_m / 2
    _place(env, face - front_m + 0.1, ys[len(ys) // 2], yaw)
    for _ in range(60):
        obs, reward, terminated, truncated, info = env.step(np.array([0.3 if yaw else -0.3, 0.0], np.float32))
        if terminated:
            break
    assert terminated and info["collision"] and not info["is_success"]
    assert info["reward_terms"]["collision"] == -10.0
    x = env.unwrapped.backend.body_pose(ROBOT)[0][0]
    assert x == pytest.approx(face - front_m, abs=0.003)
    env.close()


def test_reaching_the_goal_is_success(backend_name):
    env = make_env(backend_name)
    env.reset(seed=6)
    task = env.unwrapped.task
    gx, gy = task.goal_xy
    _place(env, gx - 0.25, gy, 0.0)
    for _ in range(10):
        obs, reward, terminated, truncated, info = env.step(np.array([0.5, 0.0], np.float32))
        if terminated:
            break
    assert terminated and info["is_success"] and not info["collision"]
    assert info["reward_terms"]["goal"] == 10.0 and obs[0] < task.goal_radius_m
    env.close()


def test_plan_is_kept_for_episodes_per_plan_and_redrawn_on_reseed(backend_name):
    env = make_env(backend_name, episodes_per_plan=3)
    env.reset(seed=0)
    task = env.unwrapped.task
    plan, goals = task.plan, [task.goal_xy]
    for _ in range(2):
        env.reset()
        assert task.plan is plan
        goals.append(task.goal_xy)
    assert len(set(goals)) > 1, "start and goal move on a kept plan"
    env.reset()
    assert task.plan is not plan
    env.reset(seed=0)
    assert task.plan.walls == plan.walls and task.goal_xy == goals[0]
    env.close()


def test_same_seed_gives_the_same_world_and_start_on_both_engines():
    envs = [make_env(name) for name in ("mujoco", "pybullet")]
    first = [env.reset(seed=7)[0] for env in envs]
    plans = [env.unwrapped.task.plan for env in envs]
    assert plans[0].walls == plans[1].walls and plans[0].furniture == plans[1].furniture
    assert envs[0].unwrapped.task.goal_xy == envs[1].unwrapped.task.goal_xy
    assert np.allclose(first[0], first[1], atol=1e-4), "same pose, same goal, same ray ring"
    for env in envs:
        env.close()


def test_accel_limits_rate_limit_the_command():
    env = make_env("mujoco", accel_limits=(0.5, 5.0))
    env.reset(seed=0)
    obs, *_ = env.step(np.array([1.0, -1.0], np.float32))
    dt = env.unwrapped.task.control_dt_s
    assert obs[5] == pytest.approx(0.5 * dt / SPEC.max_speed_m_s) and obs[6] == pytest.approx(-5.0 * dt / SPEC.max_yaw_rate_rad_s)
    env.close()


def test_guidance_points_down_the_shortest_path(backend_name):
    """With ``guidance`` the observation ends with the robot-frame bearing to a point down the
    geodesic field and that path's length: a step along the hint shortens the path, and the
    straight-line bearing does not always agree with it (walls in between)."""
    env = make_env(backend_name, guidance=True)
    n_rays = env.unwrapped.task.n_rays
    assert env.observation_space.shape == (10 + n_rays,)
    disagree = 0
    for seed in range(6):
        obs, _ = env.reset(seed=seed)
        task = env.unwrapped.task
        assert env.observation_space.contains(obs)
        bearing, path_m = obs[-3:-1], float(obs[-1])
        assert np.hypot(*bearing) == pytest.approx(1.0, abs=1e-5)
        pos, quat = env.unwrapped.backend.body_pose(ROBOT)
        yaw = yaw_of(quat)
        c, s = math.cos(yaw), math.sin(yaw)
        step = 0.3 * np.array([c * bearing[0] - s * bearing[1], s * bearing[0] + c * bearing[1]])
        assert path_m == pytest.approx(task._geodesic_at(pos[0], pos[1]), abs=1e-4)
        assert task._geodesic_at(pos[0] + step[0], pos[1] + step[1]) < task._geodesic_at(pos[0], pos[1]) - 0.15
        disagree += float(np.dot(bearing, obs[1:3])) < 0.7
    assert disagree >= 1, "some starts need a detour that the straight-line bearing does not show"
    env.close()


def _descent_clearance(task, field: np.ndarray, pos: tuple[float, float]) -> float:
    """The least obstacle clearance [m] along the steepest descent of ``field`` from the start
    cell to the goal, as the guidance's carrot walks it."""
    grid = task.plan.grid
    clearance, steps = math.inf, 0
    while steps < 10_000:
        (x, y), _ = carrot(task.plan, field, *pos, lookahead_m=grid.cell_m)
        if (x, y) == grid.point(*grid.cell(*pos)):
            return clearance
        clearance, pos, steps = min(clearance, float(grid.sdf[grid.cell(x, y)])), (x, y), steps + 1
    raise AssertionError("the descent did not reach the goal")


def test_guidance_plans_on_an_inflated_costmap():
    """The hint follows the path a Nav2-style planner picks on a costmap inflated around
    obstacles: it never passes closer to an obstacle than the plain shortest path does, and
    on some plans it keeps clearly further away (the middle of a door, not its jamb)."""
    env = make_env("mujoco", guidance=True)
    gained = 0
    for seed in range(8):
        env.reset(seed=seed)
        task = env.unwrapped.task
        start = tuple(env.unwrapped.backend.body_pose(ROBOT)[0][:2])
        plain, inflated = _descent_clearance(task, task.geodesic, start), _descent_clearance(task, task.guide_field, start)
        assert inflated >= plain - task.plan.grid.cell_m
        gained += inflated > plain + 0.05
    assert gained >= 2
    env.close()


@pytest.mark.parametrize(
    "options, message",
    [
        ({"n_rays": 4}, "n_rays must be an integer in 8..72"),
        ({"n_rays": 24.0}, "n_rays must be an integer in 8..72"),
        ({"episodes_per_plan": 0}, "episodes_per_plan must be an integer in 1..inf"),
        ({"plan_size_m": (2.0, 30.0)}, "plan_size_m must be a pair"),
        ({"goal_distance_m": (3.0, 1.0)}, "goal_distance_m must be a pair"),
        ({"furniture_per_room": (0, 1.5)}, "furniture_per_room must be a pair of integers"),
        ({"goal_radius_m": 0.0}, r"goal_radius_m must be a number in \[0.1, 1.0\] m"),
        ({"ray_range_m": "far"}, "ray_range_m must be a number"),
        ({"accel_limits": (1.0,)}, "accel_limits must be a pair"),
        ({"guidance": "yes"}, "guidance must be True or False"),
    ],
)
def test_bad_options_are_named(options, message):
    with pytest.raises(ValueError, match=message):
        NavTask(**options)


# -- the scripted expert -------------------------------------------------------------------------


def expert_success(backend_name: str, seeds: range) -> float:
    env = gymnasium.make(ENV_ID, backend=backend_name)
    policy = make_expert(env)
    wins = 0
    for seed in seeds:
        obs, _ = env.reset(seed=seed)
        done = False
        while not done:
            obs, _, terminated, truncated, info = env.step(policy(obs))
            done = terminated or truncated
        wins += bool(info["is_success"])
    env.close()
    return wins / len(seeds)


def test_expert_quick(backend_name):
    assert expert_success(backend_name, range(100, 105)) >= 0.8


@pytest.mark.slow
def test_expert_succeeds_in_90_percent_of_50_episodes(backend_name):
    rate = expert_success(backend_name, range(50))
    print(f"\nNav-v0 expert on {backend_name}: {rate:.0%} of 50 episodes")
    assert rate >= 0.9
