"""A real rclpy controller drives Nav-v0 through the bridge in lockstep; the session is recorded.

Replays the controller's known command sequence on a bare env afterwards: identical
observations prove every command reached the physics, in order, once."""

import json
import sys
import time

import gymnasium
import numpy as np

from common import emit, require_private_netns, start_peer
from sequence import command

from simsuite.ros.bridge import SimBridge

require_private_netns()
steps, out_dir, seed = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
peer = start_peer("nav_controller.py", "--steps", str(steps), "--out", f"{out_dir}/peer.json")
bridge = SimBridge("SimSuite/Nav-v0", lockstep=True, timeout_s=5.0, seed=seed, record=f"{out_dir}/bag")
t0 = time.perf_counter()
bridge.start(wait_for_peer_s=30.0)
discovery_s = time.perf_counter() - t0
obs_bridge = []
for _ in range(steps):
    obs, *_ = bridge.step()
    obs_bridge.append(obs)
stats, ros_time, episodes = bridge.stats.summary(), bridge.ros_time, bridge.episode
lidar, lidar_stamp = obs["lidar"].tolist(), bridge._t_offset + bridge.sim.sensors.stamped("lidar")[0]
bridge.close()
peer.wait(60)
peer_out = json.load(open(f"{out_dir}/peer.json"))

# the same commands, in order, on a bare env (no bridge)
env = gymnasium.make("SimSuite/Nav-v0", obs=("state", "imu", "lidar"))
episode = 0
env.reset(seed=seed)
same = True
for k in range(steps):
    v, w = command(k)
    obs, _, term, trunc, _ = env.step(np.array([v / 0.22, w / 2.84], np.float32))
    same &= all(np.array_equal(obs[key], obs_bridge[k][key]) for key in obs)
    if term or trunc:
        episode += 1
        env.reset(seed=seed + episode)  # the bridge resets episode k with seed + k
env.close()
emit(dict(stats=stats, ros_time=ros_time, episodes=episodes, lidar=lidar, lidar_stamp=lidar_stamp, peer=peer_out,
          replay_identical=bool(same), discovery_s=discovery_s))
