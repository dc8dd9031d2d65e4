"""Grasp-v0 expert: approach above the target, descend, close, lift; retry if it slips.

It reads the target's pose from the observation and, as a scripted expert may, the
task's privileged state (which object is the target, its grasp axis, point and size,
the hand's measured yaw). Each phase sets a goal for the grasp frame; the action is the
step toward it, at most the task's maximum step.
"""

from __future__ import annotations

import math

import gymnasium
import numpy as np

from simsuite.transforms import quat_to_mat
from simsuite.worlds.tabletop import FINGER_MAX_M, FINGERTIP_BELOW_EE_M

APPROACH_HEIGHT_M = 0.08  # above the grasp point before descending
PALM_CLEARANCE_M = 0.032  # the palm is 0.039 above the grasp frame: grasp at most this far below the top
FINGER_MARGIN_M = 0.025  # opening beyond the object's width before closing
CLOSE_STEPS = 6  # steps to let the fingers close before lifting
LIFT_MARGIN_M = 0.04  # lift this much beyond the success height
SLIP_M = 0.03  # the object hangs this much lower in the hand than grasped: it slipped
ALIGNED_M, ALIGNED_RAD = 0.008, 0.06  # close enough to descend
AT_GRASP_XY_M, AT_GRASP_Z_M = 0.003, 0.006  # close enough to close (the finger pads are 17 mm wide)


def make_grasp_expert(env: gymnasium.Env):
    task = env.unwrapped.task
    table_z = task.world_config.table_height_m
    memory = {"episode": -1, "phase": "approach", "steps": 0}

    def grasp_yaw(quat: np.ndarray, current: float) -> float:
        """Hand yaw that closes the fingers along the target's grasp axis (fingers close
        along the hand's −y, which points along (sin ψ, −cos ψ) at yaw ψ); of the two
        solutions π apart, the one nearer the current yaw."""
        axis = quat_to_mat(quat) @ np.asarray(task.target.grasp_axis)
        yaw = math.atan2(axis[0], -axis[1])
        yaw = current + math.remainder(yaw - current, math.pi)
        limit = task.config.yaw_limit_rad
        return yaw if abs(yaw) <= limit else yaw - math.copysign(math.pi, yaw)

    def grasp_point(target: np.ndarray, quat: np.ndarray) -> np.ndarray:
        """Where the grasp frame closes: the object's grasp point, raised so the palm clears
        its top and the fingertips clear the table."""
        obj = task.target
        point = target + quat_to_mat(quat) @ np.asarray(obj.grasp_point)
        top = target[2] - obj.rest_height_m + obj.height_m
        return np.array([point[0], point[1], max(point[2], top - PALM_CLEARANCE_M, table_z + FINGERTIP_BELOW_EE_M + 0.004)])

    def next_phase(phase: str, ee: np.ndarray, grasp: np.ndarray, target: np.ndarray, opening: float, yaw_error: float) -> str:
        """The phase machine: each phase hands over when its goal is reached."""
        if phase == "approach":
            above = grasp + (0.0, 0.0, APPROACH_HEIGHT_M)
            ready = np.linalg.norm(above - ee) < ALIGNED_M and abs(yaw_error) < ALIGNED_RAD
            return "descend" if ready and opening > task.target.grasp_width_m + 0.01 else phase
        if phase == "descend":
            if np.linalg.norm(grasp[:2] - ee[:2]) > 2 * ALIGNED_M:  # the target moved: line up again
                return "approach"
            centred = np.linalg.norm(grasp[:2] - ee[:2]) < AT_GRASP_XY_M and abs(grasp[2] - ee[2]) < AT_GRASP_Z_M
            return "close" if centred else phase
        if phase == "close":
            return "lift" if memory["steps"] >= CLOSE_STEPS else phase
        slipped = ee[2] - target[2] > grasp[2] - target[2] + SLIP_M
        return "approach" if opening < 0.004 or slipped else phase  # closed on nothing, or dropped it

    def policy(obs: np.ndarray) -> np.ndarray:
        if task.episode != memory["episode"]:
            memory.update(episode=task.episode, phase="approach", steps=0)
        ee, opening, target, quat = obs[18:21], float(obs[21]), obs[22:25].astype(float), obs[25:29].astype(float)
        grasp = grasp_point(target, quat)
        yaw_now = task.hand_yaw(env.unwrapped.backend)
        yaw_goal = grasp_yaw(quat, yaw_now)
        phase = next_phase(memory["phase"], ee, grasp, target, opening, yaw_goal - yaw_now)
        if phase == "close" and memory["phase"] != "close":
            memory["close_at"] = grasp  # close where it was: following the object drags it along
        memory["steps"] = memory["steps"] + 1 if phase == memory["phase"] else 0
        memory["phase"] = phase
        open_cmd = min(1.0, (task.target.grasp_width_m + FINGER_MARGIN_M) / FINGER_MAX_M - 1.0)
        if phase == "approach":
            goal, grip = grasp + (0.0, 0.0, APPROACH_HEIGHT_M), open_cmd
        elif phase == "descend":
            goal, grip = grasp, open_cmd
        elif phase == "close":
            goal, grip, yaw_goal = memory["close_at"], -1.0, yaw_now  # hold still while the fingers close
        else:  # lift, then hold
            still_to_lift = task.target_rest_z + task.lift_height_m + LIFT_MARGIN_M - target[2]
            goal, grip, yaw_goal = ee + (0.0, 0.0, max(still_to_lift, 0.0)), -1.0, yaw_now
        move = np.clip((goal - ee) / task.max_step_m, -1.0, 1.0)
        turn = np.clip((yaw_goal - yaw_now) / task.config.max_yaw_step_rad, -1.0, 1.0)
        action = np.r_[move, turn, grip] if task.control_yaw else np.r_[move, grip]
        return action.astype(np.float32)

    return policy
