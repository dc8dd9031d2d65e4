"""Policies step RosEnv with Drive-v0's and Grasp-v0's spaces against real rclpy nodes playing
a car and a Panda (one after the other); each robot records the commands it received."""

import json
import sys
import time

import numpy as np

from common import emit, require_private_netns, start_peer

from simsuite.ros.rosenv import RosEnv

require_private_netns()
out_dir = sys.argv[1]


def run(robot: str, twin: str, obs, actions: list) -> tuple[list, list, dict]:
    """Reset, step ``actions`` and close a RosEnv against the robot node; the robot exits 2 s
    after the last command it got (the stop command on close)."""
    peer = start_peer(f"{robot}.py", "--out", f"{out_dir}/{robot}.json", "--idle-exit", "2")
    env = RosEnv(twin, obs=obs, timeout_s=10.0, wait_for_peer_s=30.0)
    seen = [env.reset()[0]]
    time.sleep(1.0)  # let what the robot sent before the reset's stop command land: it is not fresh for step 1
    for a in actions:
        seen.append(env.step(np.array(a, np.float32))[0])
    in_space = [bool(env.observation_space.contains(o)) for o in seen]
    env.close()
    peer.wait(60)
    return seen, in_space, json.load(open(f"{out_dir}/{robot}.json"))


def drive() -> dict:
    actions = [[0.2, 1.0], [0.2, 1.0], [-0.3, 0.5], [0.0, -0.5], [0.5, 0.0]]
    seen, in_space, robot = run("drive_robot", "SimSuite/Drive-v0", ("lidar", "imu"), actions)
    lidar = seen[-1]["lidar"]
    return dict(in_space=in_space, actions=actions, robot=robot, lidar_shape=list(lidar.shape),
                lidar_min=float(lidar.min()),
                lidar_sector=np.stack([lidar[:, 788:1013].min(axis=1), lidar[:, 788:1013].max(axis=1)], axis=1).tolist(),
                lidar_outside=[float(np.delete(lidar, np.s_[788:1013], axis=1).min()), float(np.delete(lidar, np.s_[788:1013], axis=1).max())], imu=[o["imu"].tolist() for o in seen])


def grasp() -> dict:
    actions = [[0.5, 0.0, -0.5, 0.0, 1.0], [0.0, 0.5, 0.0, 0.3, 0.0], [-0.5, -0.5, 0.5, -0.3, -1.0]]
    seen, in_space, robot = run("grasp_robot", "SimSuite/Grasp-v0", "state", actions)
    return dict(in_space=in_space, actions=actions, robot=robot, states=[o.tolist() for o in seen])


emit(dict(drive=drive(), grasp=grasp()))
