"""ROS 1: roscore, the bridge on rospy (free-running, real time), and the stock rostopic tool.

`rostopic echo -n 1 /scan` must print the bridge's scan; `rostopic pub` on /cmd_vel must
move the simulated robot. Runs in a private network namespace (loopback only)."""

import os
import subprocess
import threading
import time

import numpy as np

from common import emit, require_private_netns

require_private_netns()
env = dict(os.environ, ROS_MASTER_URI="http://127.0.0.1:11311", ROS_IP="127.0.0.1", ROS_HOME="/tmp/simsuite_ros1_home")
os.environ.update(env)
core = subprocess.Popen(["roscore", "-p", "11311"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
try:
    from simsuite.ros.ros1 import import_rospy

    rospy = import_rospy()
    import rosgraph

    deadline = time.time() + 30
    while not rosgraph.is_master_online() and time.time() < deadline:
        time.sleep(0.2)
    from simsuite.ros.bridge import SimBridge

    bridge = SimBridge("SimSuite/Nav-v0", transport="ros1", lockstep=False, real_time_factor=1.0, command_timeout_s=0.5, seed=6)
    bridge.start()
    base = bridge.profile.base_body
    start_pos = bridge.sim.backend.body_pose(base)[0].copy()
    stop = threading.Event()
    spin_error: list[str] = []

    def spin() -> None:
        try:
            while not stop.is_set():
                bridge.spin(steps=1)
        except Exception as exc:  # noqa: BLE001
            spin_error.append(repr(exc))

    thread = threading.Thread(target=spin, daemon=True)
    thread.start()
    echo = subprocess.run(["rostopic", "echo", "-n", "1", "/scan"], env=env, capture_output=True, text=True, timeout=60)
    before_pub = bridge.sim.backend.body_pose(base)[0].copy()
    speeds = []
    pub = subprocess.Popen(["rostopic", "pub", "-r", "10", "/cmd_vel", "geometry_msgs/Twist",
                            "{linear: {x: 0.2, y: 0.0, z: 0.0}, angular: {x: 0.0, y: 0.0, z: 0.0}}"], env=env,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    t_end = time.time() + 4.0
    while time.time() < t_end:
        time.sleep(0.1)
        speeds.append(float(bridge.obs["state"][3]))
    pub.terminate()
    pub.wait(10)
    after_pub = bridge.sim.backend.body_pose(base)[0].copy()
    stop.set()
    thread.join(10)
    stats = bridge.stats.summary()
    bridge.close()
    emit(dict(echo_ok=echo.returncode == 0, echo=echo.stdout[:4000], moved_before_pub_m=float(np.linalg.norm(before_pub[:2] - start_pos[:2])),
              moved_m=float(np.linalg.norm(after_pub[:2] - before_pub[:2])), max_speed=max(speeds), stats=stats, spin_error=spin_error,
              episodes=bridge.episode))
finally:
    core.terminate()
    core.wait(20)
