"""A real rclpy node that sends the bridge bad commands among good ones (Nav, lockstep).

After the bridge's first /odom it publishes on /cmd_vel: a Twist with a NaN field, a
truncated CDR sample (rclpy's serialized publish), then a valid Twist (0.1 m/s, 0.5 rad/s).
It ignores the second /odom (the bridge's timeout policy steps without it) and answers the
third with a valid Twist (0.2 m/s, −0.5 rad/s), then exits."""

import argparse
import time

import rclpy
from geometry_msgs.msg import Twist
from nav_msgs.msg import Odometry
from rclpy.node import Node


def twist(v: float, w: float) -> Twist:
    t = Twist()
    t.linear.x, t.angular.z = v, w
    return t


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--timeout", type=float, default=60.0)
    args = parser.parse_args()
    rclpy.init()
    node = Node("simsuite_test_bad_publisher")
    pub = node.create_publisher(Twist, "/cmd_vel", 10)
    seen = {"odom": 0}

    def on_odom(msg: Odometry) -> None:
        seen["odom"] += 1
        if seen["odom"] == 1:
            pub.publish(twist(float("nan"), 0.5))
            time.sleep(0.05)
            pub.publish(b"\x00\x01\x00\x00\x00\x00\x00")  # CDR header and 3 bytes: not a Twist
            time.sleep(0.05)
            pub.publish(twist(0.1, 0.5))
        elif seen["odom"] == 3:
            pub.publish(twist(0.2, -0.5))

    node.create_subscription(Odometry, "/odom", on_odom, 10)
    end = time.time() + args.timeout
    while time.time() < end and seen["odom"] < 4:
        rclpy.spin_once(node, timeout_sec=0.05)
    time.sleep(0.2)
    node.destroy_node()
    rclpy.shutdown()


if __name__ == "__main__":
    main()
