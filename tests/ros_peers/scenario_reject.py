"""Bad commands from a real rclpy node never reach the physics; a missing answer triggers the
timeout policy ("step": the stop command), counted. A bare env replaying the accepted
commands gives identical observations."""

import sys

import gymnasium
import numpy as np

from common import emit, require_private_netns, start_peer

from simsuite.ros.bridge import SimBridge

require_private_netns()
seed = int(sys.argv[1])
peer = start_peer("bad_publisher.py")
bridge = SimBridge("SimSuite/Nav-v0", lockstep=True, timeout_s=1.5, on_timeout="step", seed=seed)
bridge.start(wait_for_peer_s=30.0)
obs_bridge = [bridge.step()[0] for _ in range(3)]
stats = bridge.stats.summary()
bridge.close()
peer.wait(30)

env = gymnasium.make("SimSuite/Nav-v0", obs=("state", "imu", "lidar"))
env.reset(seed=seed)
accepted = [(0.1, 0.5), (0.0, 0.0), (0.2, -0.5)]  # the valid command, the stop command, the valid one
same = True
for k, (v, w) in enumerate(accepted):
    obs, *_ = env.step(np.array([v / 0.22, w / 2.84], np.float32))
    same &= all(np.array_equal(obs[key], obs_bridge[k][key]) for key in obs)
env.close()
emit(dict(stats=stats, replay_identical=bool(same)))
