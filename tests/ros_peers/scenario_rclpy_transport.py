"""SimSuite's rclpy transport (in the rclpy venv) talks to SimSuite's Cyclone transport: scans
one way, twists back, each value checked."""

import json
import os
import subprocess
import sys
import time

from common import HERE, ROOT, emit, peer_python, require_private_netns

from simsuite.ros import messages as M
from simsuite.ros.families import twist
from simsuite.ros.netns import rclpy_env
from simsuite.ros.transport import make_transport

require_private_netns()
out = sys.argv[1]
env = rclpy_env()
env["PYTHONPATH"] = str(ROOT)
peer = subprocess.Popen([peer_python(), str(HERE / "rclpy_transport_peer.py"), "--out", out], env=env)
dds = make_transport("dds")
reply = dds.publisher("/cmd_vel", "geometry_msgs/msg/Twist")
scans = []


def on_scan(msg) -> None:
    scans.append([M.to_seconds(msg.header.stamp), float(msg.ranges[0]), len(msg.ranges), msg.header.frame_id])
    reply.publish(twist((float(msg.ranges[0]), 0.0, 0.0), (0.0, 0.0, M.to_seconds(msg.header.stamp))))


dds.subscribe("/scan", "sensor_msgs/msg/LaserScan", on_scan)
rc = peer.wait(90)
dds.close()
emit(dict(rc=rc, scans=scans, peer=json.load(open(out))))
