"""A policy steps RosEnv (Nav-v0's spaces) against a real rclpy node playing the robot, which
stalls after a number of answers; the session is recorded."""

import json
import sys

import numpy as np

from common import emit, require_private_netns, start_peer

from simsuite.ros.rosenv import RosEnv, RosTimeout

require_private_netns()
out_dir, good_steps = sys.argv[1], int(sys.argv[2])
# the robot answers the reset's stop command and good_steps commands, then stalls; it exits
# after the unanswered command and the stop command RosEnv sends on the timeout
peer = start_peer("robot_node.py", "--out", f"{out_dir}/robot.json", "--stall-after", str(good_steps + 1),
                  "--exit-after", str(good_steps + 3), "--run-for", "60")
env = RosEnv("SimSuite/Nav-v0", obs=("state", "lidar", "imu"), timeout_s=1.0, wait_for_peer_s=30.0, record=f"{out_dir}/bag")
obs, _ = env.reset(options={"goal_xy": (2.0, 1.0)})
in_space = [bool(env.observation_space.contains(obs))]
actions = [np.array([0.5, 0.1 * k], np.float32) for k in range(good_steps + 1)]
observations, error = [obs], ""
try:
    for a in actions:
        obs, reward, terminated, truncated, info = env.step(a)
        observations.append(obs)
        in_space.append(bool(env.observation_space.contains(obs)))
except RosTimeout as exc:
    error = str(exc)
timeouts = env.timeouts
env.close()
peer.wait(60)
robot = json.load(open(f"{out_dir}/robot.json"))
emit(dict(in_space=in_space, steps_ok=len(observations) - 1, error=error, timeouts=timeouts, robot=robot,
          actions=[a.tolist() for a in actions], last_state=observations[-1]["state"].tolist(),
          last_lidar=observations[-1]["lidar"].tolist()))
