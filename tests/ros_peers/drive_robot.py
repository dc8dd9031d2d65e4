"""A real ROS 2 node (rclpy, Fast DDS) playing a car for RosEnv's Drive test.

Runs in the separate rclpy venv. Every /cmd_vel (target speed, yaw rate) moves a kinematic
car for 0.05 s (speed toward the target at up to 6 m/s²) and is answered with /odom (the
speed it drives at), /imu (yaw rate, gravity) and /points: the returns of a VLP-16-like scan
(16 channels over ±15°, 1800 azimuths from −π) from a wall ahead, beams 788..1012 (±20° about
+x), channel c at 5 + 0.25·c metres, in the sensor frame; the other beams have no return.
(A small cloud: a 345 KB burst can overflow a loaded machine's default UDP receive buffer,
and DDS repairs it only at the writer's next heartbeat, seconds later.)
It writes every command, with the speed it had reported when the command came, to ``--out``.
"""

import array
import math

import numpy as np
import rclpy
from geometry_msgs.msg import Twist
from nav_msgs.msg import Odometry
from rclpy.node import Node
from robot_peer import robot_args, spin_and_report
from sensor_msgs.msg import Imu, PointCloud2, PointField

DT_S, ACCEL_M_S2 = 0.05, 6.0
SECTOR = (788, 1013)  # azimuth indices with a return


def cloud_bytes() -> bytes:
    elev = np.radians(np.linspace(-15.0, 15.0, 16))[:, None]
    az = (-math.pi + np.arange(*SECTOR) * 2 * math.pi / 1800)[None, :]
    r = (5.0 + 0.25 * np.arange(16))[:, None]
    xyz = np.stack([r * np.cos(elev) * np.cos(az), r * np.cos(elev) * np.sin(az), r * np.sin(elev) * np.ones_like(az)], axis=-1)
    return xyz.reshape(-1, 3).astype("<f4").tobytes()


def main() -> None:
    args = robot_args()
    rclpy.init()
    node = Node("simsuite_test_car")
    odom_pub = node.create_publisher(Odometry, "/odom", 10)
    imu_pub = node.create_publisher(Imu, "/imu", 10)
    points_pub = node.create_publisher(PointCloud2, "/points", 10)
    data = array.array("B", cloud_bytes())
    state = {"v": 0.0, "commands": []}

    def on_cmd(msg: Twist) -> None:
        state["commands"].append([state["v"], msg.linear.x, msg.angular.z])
        v_cmd, w = msg.linear.x, msg.angular.z
        state["v"] += max(min(v_cmd - state["v"], ACCEL_M_S2 * DT_S), -ACCEL_M_S2 * DT_S)
        stamp = node.get_clock().now().to_msg()
        odom = Odometry()
        odom.header.stamp, odom.header.frame_id, odom.child_frame_id = stamp, "odom", "base_link"
        odom.pose.pose.orientation.w = 1.0
        odom.twist.twist.linear.x, odom.twist.twist.angular.z = state["v"], w
        imu = Imu()
        imu.header.stamp, imu.header.frame_id = stamp, "imu"
        imu.linear_acceleration.z, imu.angular_velocity.z = 9.81, w
        cloud = PointCloud2()
        cloud.header.stamp, cloud.header.frame_id = stamp, "lidar"
        n = 16 * (SECTOR[1] - SECTOR[0])
        cloud.height, cloud.width, cloud.point_step, cloud.row_step = 1, n, 12, 12 * n
        cloud.fields = [PointField(name=n, offset=4 * i, datatype=PointField.FLOAT32, count=1) for i, n in enumerate("xyz")]
        cloud.is_bigendian, cloud.is_dense, cloud.data = False, True, data
        for pub, m in ((points_pub, cloud), (imu_pub, imu), (odom_pub, odom)):
            pub.publish(m)

    node.create_subscription(Twist, "/cmd_vel", on_cmd, 10)
    spin_and_report(node, args, state["commands"], state, 0.05)

if __name__ == "__main__":
    main()
