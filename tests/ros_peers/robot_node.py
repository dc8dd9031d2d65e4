"""A real ROS 2 node (rclpy, Fast DDS) playing a TurtleBot3-class robot for RosEnv's test.

Runs in the separate rclpy venv. Every /cmd_vel it receives moves a unicycle for 0.1 s
inside a round room of radius 3 m and is answered with /odom, /scan (360 beams from −π)
and /imu, stamped with the node's clock. With ``--stall-after K`` it stops answering after K
commands (it keeps listening), so the env's timeout policy fires. It writes every command
it received to ``--out`` when ``--run-for`` seconds have passed.
"""

import math

import numpy as np
import rclpy
from geometry_msgs.msg import Twist
from nav_msgs.msg import Odometry
from rclpy.node import Node
from robot_peer import robot_args, spin_and_report
from sensor_msgs.msg import Imu, LaserScan

ROOM_RADIUS_M, DT_S = 3.0, 0.1


def scan_ranges(x: float, y: float, yaw: float, n: int = 360) -> np.ndarray:
    """Distances from (x, y) to the round wall along n beams from −π (robot frame)."""
    a = yaw - math.pi + np.arange(n) * 2 * math.pi / n
    dx, dy = np.cos(a), np.sin(a)
    b = x * dx + y * dy
    return (-b + np.sqrt(b * b - (x * x + y * y - ROOM_RADIUS_M**2))).astype(np.float32)


def main() -> None:
    args = robot_args(30.0, stall_after=int)
    rclpy.init()
    node = Node("simsuite_test_robot")
    odom_pub = node.create_publisher(Odometry, "/odom", 10)
    scan_pub = node.create_publisher(LaserScan, "/scan", 10)
    imu_pub = node.create_publisher(Imu, "/imu", 10)
    state = {"x": 0.0, "y": 0.0, "yaw": 0.0, "commands": [], "answered": 0}

    def on_cmd(msg: Twist) -> None:
        state["commands"].append([msg.linear.x, msg.angular.z])
        if state["answered"] == args.stall_after:
            return
        v, w = msg.linear.x, msg.angular.z
        state["yaw"] += w * DT_S
        state["x"] += v * math.cos(state["yaw"]) * DT_S
        state["y"] += v * math.sin(state["yaw"]) * DT_S
        stamp = node.get_clock().now().to_msg()
        odom = Odometry()
        odom.header.stamp, odom.header.frame_id, odom.child_frame_id = stamp, "odom", "base_link"
        odom.pose.pose.position.x, odom.pose.pose.position.y = state["x"], state["y"]
        odom.pose.pose.orientation.z, odom.pose.pose.orientation.w = math.sin(state["yaw"] / 2), math.cos(state["yaw"] / 2)
        odom.twist.twist.linear.x, odom.twist.twist.angular.z = v, w
        scan = LaserScan()
        scan.header.stamp, scan.header.frame_id = stamp, "lidar"
        scan.angle_min, scan.angle_increment = -math.pi, 2 * math.pi / 360
        scan.angle_max = scan.angle_min + 359 * scan.angle_increment
        scan.range_min, scan.range_max = 0.15, 12.0
        scan.ranges = scan_ranges(state["x"], state["y"], state["yaw"]).tolist()
        imu = Imu()
        imu.header.stamp, imu.header.frame_id = stamp, "imu"
        imu.linear_acceleration.z, imu.angular_velocity.z = 9.81, w
        for pub, m in ((scan_pub, scan), (imu_pub, imu), (odom_pub, odom)):
            pub.publish(m)
        state["answered"] += 1

    node.create_subscription(Twist, "/cmd_vel", on_cmd, 10)
    spin_and_report(node, args, state["commands"], state)


if __name__ == "__main__":
    main()
