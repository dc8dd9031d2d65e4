"""A real ROS 2 node (rclpy, Fast DDS) playing a Franka Panda for RosEnv's Grasp test.

Runs in the separate rclpy venv. An ideal position-controlled arm: every /joint_command
(positions by name) is reached within the 0.04 s control step. It publishes /joint_states
(arm and fingers, velocities from the last move) and the target object's pose on
/object_pose (geometry_msgs/PoseStamped, world frame, as a perception node would) at 25 Hz
until the first command arrives (RosEnv's first reset waits for the joints, then holds
them), then once after each command: a state published on the timer while a command is in
flight would be fresh to RosEnv yet not show the command, and the test checks that every
observation does. It writes every command it received to ``--out``.
"""

import math

import rclpy
from geometry_msgs.msg import PoseStamped
from rclpy.node import Node
from robot_peer import robot_args, spin_and_report
from sensor_msgs.msg import JointState

NAMES = [f"panda_joint{i}" for i in range(1, 8)] + ["panda_finger_joint1", "panda_finger_joint2"]
READY = [0.0, -0.785, 0.0, -2.356, 0.0, 1.571, 0.785, 0.04, 0.04]
OBJECT_XYZ, OBJECT_YAW, DT_S = (0.5, 0.1, 0.445), 0.3, 0.04


def main() -> None:
    args = robot_args()
    rclpy.init()
    node = Node("simsuite_test_panda")
    joints_pub = node.create_publisher(JointState, "/joint_states", 10)
    pose_pub = node.create_publisher(PoseStamped, "/object_pose", 10)
    state = {"q": list(READY), "qd": [0.0] * 9, "commands": []}

    def publish() -> None:
        stamp = node.get_clock().now().to_msg()
        js = JointState()
        js.header.stamp = stamp
        js.name, js.position, js.velocity = NAMES, [float(v) for v in state["q"]], [float(v) for v in state["qd"]]
        pose = PoseStamped()
        pose.header.stamp, pose.header.frame_id = stamp, "world"
        pose.pose.position.x, pose.pose.position.y, pose.pose.position.z = OBJECT_XYZ
        pose.pose.orientation.z, pose.pose.orientation.w = math.sin(OBJECT_YAW / 2), math.cos(OBJECT_YAW / 2)
        pose_pub.publish(pose)
        joints_pub.publish(js)

    def on_timer() -> None:
        if not state["commands"]:
            publish()

    def on_command(msg: JointState) -> None:
        target = dict(zip(msg.name, msg.position))
        state["commands"].append([target.get(n) for n in NAMES])
        q_new = [target.get(n, q) for n, q in zip(NAMES, state["q"])]
        state["qd"] = [(a - b) / DT_S for a, b in zip(q_new, state["q"])]
        state["q"] = q_new
        publish()

    node.create_subscription(JointState, "/joint_command", on_command, 10)
    node.create_timer(DT_S, on_timer)
    spin_and_report(node, args, state["commands"], state, 0.02)

if __name__ == "__main__":
    main()
