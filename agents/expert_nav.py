"""Nav-v0 expert: A* on the plan's occupancy grid (privileged map and pose), then pure
pursuit with speed control.

The planner's cost grows near obstacles so that the path keeps to the middle of doors and
corridors; cells closer to an obstacle than the robot's turning radius plus a margin are
impassable. Pure pursuit steers to a point ``lookahead_m`` ahead on the path, turns in
place when that point is far off the heading, and slows down near obstacles (nearest ray
of the observation's free-space ring) and in sharp turns. It replans when pushed off the
path.
"""

from __future__ import annotations

import heapq
import math

import gymnasium
import numpy as np

from simsuite.envs.navigation import ROBOT, SPEC
from simsuite.transforms import yaw_of

SQRT2 = math.sqrt(2.0)
NEIGHBOURS = ((0, 1, 1.0), (1, 0, 1.0), (0, -1, 1.0), (-1, 0, 1.0), (1, 1, SQRT2), (1, -1, SQRT2), (-1, 1, SQRT2), (-1, -1, SQRT2))


def astar(sdf: np.ndarray, start: tuple[int, int], goal: tuple[int, int], passable_m: float, comfort_m: float) -> list[tuple[int, int]]:
    """Cells from start to goal on an 8-connected grid (no corner cutting). A step costs its
    length times 1 + 3·(comfort − clearance)/comfort where clearance < comfort; the octile
    distance is an admissible heuristic since every factor is >= 1."""
    ny, nx = sdf.shape
    ok = sdf >= passable_m
    ok[start] = True  # wherever the robot is now
    weight = 1.0 + 3.0 * np.clip((comfort_m - sdf) / comfort_m, 0.0, 1.0)
    gi, gj = goal

    def heuristic(i: int, j: int) -> float:
        di, dj = abs(i - gi), abs(j - gj)
        return max(di, dj) + (SQRT2 - 1.0) * min(di, dj)

    cost = {start: 0.0}
    parent: dict[tuple[int, int], tuple[int, int]] = {}
    frontier = [(heuristic(*start), start)]
    while frontier:
        _, cell = heapq.heappop(frontier)
        if cell == goal:
            path = [cell]
            while path[-1] in parent:
                path.append(parent[path[-1]])
            return path[::-1]
        i, j = cell
        base = cost[cell]
        for di, dj, length in NEIGHBOURS:
            a, b = i + di, j + dj
            if not (0 <= a < ny and 0 <= b < nx and ok[a, b]) or (di and dj and not (ok[i, b] and ok[a, j])):
                continue
            new = base + length * 0.5 * (weight[i, j] + weight[a, b])
            if new < cost.get((a, b), math.inf):
                cost[(a, b)] = new
                parent[(a, b)] = cell
                heapq.heappush(frontier, (new + heuristic(a, b), (a, b)))
    return []


def make_nav_expert(env: gymnasium.Env, lookahead_m: float = 0.35):
    """A policy ``obs -> action`` that plans once per episode (and again when pushed off)."""
    unwrapped = env.unwrapped
    task = unwrapped.task
    vmax, wmax = SPEC.max_speed_m_s, SPEC.max_yaw_rate_rad_s
    passable_m = SPEC.turning_radius_m + 0.03  # [m]
    memo: dict = {"episode": None}

    def plan_path(x: float, y: float) -> np.ndarray:
        """Grid path from (x, y) to the goal; if the robot sits in a tight spot, accept less
        clearance; with no path at all, head straight for the goal."""
        grid = task.plan.grid
        start, goal = grid.cell(x, y), grid.cell(*task.goal_xy)
        for passable in (passable_m, SPEC.footprint_m[2] + 0.02):
            cells = astar(grid.sdf, start, goal, passable, comfort_m=0.5)
            if cells:
                break
        points = [grid.point(i, j) for i, j in cells[1:-1]]
        return np.array([(x, y), *points, task.goal_xy], dtype=np.float64)

    def policy(obs: np.ndarray) -> np.ndarray:
        pos, quat = unwrapped.backend.body_pose(ROBOT)
        x, y, yaw = float(pos[0]), float(pos[1]), yaw_of(quat)
        if memo["episode"] != task.episode:
            memo.update(episode=task.episode, path=plan_path(x, y), index=0)
        path = memo["path"]
        offsets = np.hypot(path[:, 0] - x, path[:, 1] - y)
        window = slice(memo["index"], min(memo["index"] + 15, len(path)))
        memo["index"] = nearest = window.start + int(np.argmin(offsets[window]))
        if offsets[nearest] > 0.4:  # pushed off the path: plan again from here
            memo.update(path=plan_path(x, y), index=0)
            path, nearest = memo["path"], 0
            offsets = np.hypot(path[:, 0] - x, path[:, 1] - y)
        ahead = np.flatnonzero(offsets[nearest:] >= lookahead_m)
        tx, ty = path[nearest + ahead[0]] if len(ahead) else path[-1]
        c, s = math.cos(yaw), math.sin(yaw)
        lx, ly = c * (tx - x) + s * (ty - y), -s * (tx - x) + c * (ty - y)
        alpha = math.atan2(ly, lx)
        if abs(alpha) > 1.0:  # far off the heading: turn in place
            return np.array([0.0, math.copysign(min(1.0, abs(alpha)), alpha)], dtype=np.float32)
        nearest_obstacle = float(np.min(obs[task.ring]))
        speed = vmax * max(0.25, 1.0 - abs(alpha) / 1.2) * min(1.0, max(0.4, (nearest_obstacle - 0.15) / 0.3))
        curvature = 2.0 * ly / max(lx * lx + ly * ly, 1e-9)
        if abs(curvature * speed) > wmax:
            speed = wmax / abs(curvature)
        return np.array([speed / vmax, np.clip(curvature * speed / wmax, -1.0, 1.0)], dtype=np.float32)

    return policy
