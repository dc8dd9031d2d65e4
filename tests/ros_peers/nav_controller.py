"""A real ROS 2 controller node (rclpy, Fast DDS) for the bridge's lockstep test.

Runs in the separate rclpy venv (``.venv-rospeer``), never in SimSuite's. With
``use_sim_time`` it follows the bridge's /clock. It answers every /odom with one Twist
(a fixed, known sequence), keeps the last /scan and /imu, and after ``--steps`` answers
waits for the last /odom, then writes what it saw as JSON to ``--out``.
"""

import argparse
import json
import time

import rclpy
from geometry_msgs.msg import Twist
from nav_msgs.msg import Odometry
from rclpy.node import Node
from rclpy.parameter import Parameter
from sensor_msgs.msg import Imu, LaserScan
from sequence import command


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--timeout", type=float, default=60.0)
    parser.add_argument("--stall-after", type=int, default=-1, help="stop answering after this many answers")
    args = parser.parse_args()

    rclpy.init()
    node = Node("simsuite_test_controller", parameter_overrides=[Parameter("use_sim_time", Parameter.Type.BOOL, True)])
    pub = node.create_publisher(Twist, "/cmd_vel", 10)
    state = {"answered": 0, "odom": 0, "scans": 0, "last_scan": None, "scan_stamp": None, "imu": 0, "odom_stamps": [], "imu_stamps": []}

    def on_odom(msg: Odometry) -> None:
        state["odom"] += 1
        state["odom_stamps"].append(msg.header.stamp.sec + msg.header.stamp.nanosec * 1e-9)
        if state["answered"] >= args.steps or state["answered"] == args.stall_after:
            return
        v, w = command(state["answered"])
        t = Twist()
        t.linear.x, t.angular.z = v, w
        pub.publish(t)
        state["answered"] += 1

    def on_scan(msg: LaserScan) -> None:
        state["scans"] += 1
        state["last_scan"] = [float(r) for r in msg.ranges]
        state["scan_stamp"] = msg.header.stamp.sec + msg.header.stamp.nanosec * 1e-9
        state["scan_meta"] = [msg.angle_min, msg.angle_increment, msg.range_min, msg.range_max, msg.header.frame_id]

    def on_imu(msg: Imu) -> None:
        state["imu"] += 1
        state["imu_stamps"].append(msg.header.stamp.sec + msg.header.stamp.nanosec * 1e-9)

    node.create_subscription(Odometry, "/odom", on_odom, 10)
    node.create_subscription(LaserScan, "/scan", on_scan, 10)
    node.create_subscription(Imu, "/imu", on_imu, 100)
    deadline = time.time() + args.timeout
    while time.time() < deadline and state["odom"] < args.steps + 1:
        rclpy.spin_once(node, timeout_sec=0.05)
    end = time.time() + 0.5  # let the last /clock and /scan land
    while time.time() < end:
        rclpy.spin_once(node, timeout_sec=0.05)
    now = node.get_clock().now().nanoseconds
    state.update(clock_ns=now, use_sim_time=node.get_parameter("use_sim_time").value)
    state.pop("odom_stamps_full", None)
    with open(args.out, "w") as f:
        json.dump(state, f)
    node.destroy_node()
    rclpy.shutdown()


if __name__ == "__main__":
    main()
