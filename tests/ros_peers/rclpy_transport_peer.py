"""SimSuite's own rclpy transport, run in the rclpy venv (with rosbags and gymnasium added and
the repository on PYTHONPATH): it publishes LaserScans and collects the Twists that a Cyclone
DDS participant sends back, then writes what it got to ``--out``."""

import argparse
import json
import time

import numpy as np

from simsuite.ros import messages as M
from simsuite.ros.rclpy_transport import RclpyTransport
from simsuite.sensors.lidar import LidarConfig


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", required=True)
    parser.add_argument("--count", type=int, default=20)
    args = parser.parse_args()
    transport = RclpyTransport("simsuite_rclpy_transport_test")
    got = []
    transport.subscribe("/cmd_vel", "geometry_msgs/msg/Twist", lambda m: got.append([m.linear.x, m.angular.z]))
    pub = transport.publisher("/scan", "sensor_msgs/msg/LaserScan")
    deadline = time.time() + 30
    while (pub.subscriber_count() == 0 or transport.publisher_count("/cmd_vel") == 0) and time.time() < deadline:
        time.sleep(0.05)
    cfg = LidarConfig()
    for k in range(args.count):
        pub.publish(M.laser_scan(0.1 * k, "lidar", np.full(360, 1.0 + k, np.float32), cfg, 0.1))
        time.sleep(0.05)
    end = time.time() + 2
    while len(got) < args.count and time.time() < end:
        time.sleep(0.05)
    transport.close()
    with open(args.out, "w") as f:
        json.dump({"got": got}, f)


if __name__ == "__main__":
    main()
