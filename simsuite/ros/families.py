"""What each task family looks like on ROS: its topics, frames and command message.

A :class:`Profile` says which body is the robot's ``base_link``, which joints go on
``/joint_states``, and how the family's command message maps to the gym action and back.
Commands are in physical units on the ROS side and become the task's normalized action
here, checked at the door (:class:`~simsuite.ros.messages.MessageRejected` names the field):

| family | command topic | message | meaning |
|---|---|---|---|
| Nav | ``/cmd_vel`` | ``geometry_msgs/Twist`` | ``linear.x`` [m/s], ``angular.z`` [rad/s] (TurtleBot3 limits 0.22, 2.84); other fields ignored |
| Drive | ``/cmd_vel`` | ``geometry_msgs/Twist`` | target forward speed ``linear.x`` [m/s] and yaw rate ``angular.z`` [rad/s]: steering from the bicycle model, δ = atan(L·ω / max(v, 1 m/s)), pedal = clip(0.5·(v_cmd − v), −1, 1) |
| Grasp | ``/joint_command`` | ``sensor_msgs/JointState`` | position targets by name for ``panda_joint1..7`` (all seven) and optionally ``panda_finger_joint1/2`` [m]; the task is Cartesian, so the arm target becomes the hand's goal through forward kinematics (one step moves at most ``max_step_m``); RosEnv sends the inverse: the hand's Cartesian step solved to joint targets by IK from the measured ``/joint_states`` |
| UAV, ``action="motors"`` | ``/cmd_motors`` | ``actuator_msgs/Actuators`` | ``velocity``: 4 rotor speeds [rad/s], rotors 0 front-right, 1 back-right, 2 back-left, 3 front-left |
| UAV, ``action="ctbr"`` | ``/cmd_vel`` | ``geometry_msgs/Twist`` | ``linear.z``: collective thrust [N]; ``angular``: body rates [rad/s] (the Crazyflie's legacy ``cmd_vel`` convention) |

RosEnv turns actions into these messages (``from_action``) with the robot's latest messages at
hand (``inputs``: Drive's pedal is relative to the measured speed, so it needs ``/odom``; Grasp's
IK starts from ``/joint_states``), and stops the robot with ``stop``: a zero twist (Nav, Drive:
the bridge brakes to it), motors off (UAV), the measured joint positions held (Grasp).

Every topic name can be changed per family (``topics={"command": "/robot1/cmd_vel", "scan": ...}``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

import numpy as np

from simsuite.ros import messages as M
from simsuite.ros.messages import MessageRejected

#: default topic names, shared by every family; the command topic is the profile's
DEFAULT_TOPICS: dict[str, str] = {
    "clock": "/clock",
    "scan": "/scan",
    "points": "/points",
    "imu": "/imu",
    "odom": "/odom",
    "tf": "/tf",
    "tf_static": "/tf_static",
    "joint_states": "/joint_states",
    "image": "/camera/image_raw",
    "depth": "/camera/depth/image_raw",
    "camera_info": "/camera/camera_info",
    "object_pose": "/object_pose",  # Grasp on a robot: the target object's pose from perception (geometry_msgs/PoseStamped)
    "observation": "/simsuite/observation",  # the env's flattened observation (recorded; for calibration)
    "action": "/simsuite/action",  # the action the physics received (recorded)
}


@dataclass(frozen=True)
class Profile:
    family: str
    base_body: str  # the body published as base_link (odom -> base_link)
    command_topic: str
    command_type: str
    to_action: Callable[[Any, Any], np.ndarray]  # (message, SimEnv) -> action; raises MessageRejected
    from_action: Callable[[np.ndarray, Any, Mapping[str, Any]], Any] | None  # (action, task, inputs) -> message, for RosEnv
    stop: Callable[[Any, Mapping[str, Any]], Any] | None  # (task, inputs) -> the command that stops the robot
    joints: tuple[str, ...] = ()
    topics: dict[str, str] = field(default_factory=dict)
    inputs: tuple[str, ...] = ()  # topic keys whose latest message from_action and stop need (RosEnv)

    def topic_names(self, overrides: dict[str, str] | None = None) -> dict[str, str]:
        names = {**DEFAULT_TOPICS, "command": self.command_topic, **self.topics}
        for key, value in (overrides or {}).items():
            if key not in names:
                raise ValueError(f"unknown topic key {key!r}; choose from {sorted(names)}")
            if not isinstance(value, str) or not value.startswith("/"):
                raise ValueError(f"topic {key!r} must be an absolute name like '/robot1/{key}', got {value!r}")
            names[key] = value
        return names


def _twist_fields(msg) -> np.ndarray:
    """linear xyz, angular xyz of a Twist; NaN or inf anywhere rejects the message."""
    M.check_type(msg, "geometry_msgs/msg/Twist")
    return M.check_finite("twist", [msg.linear.x, msg.linear.y, msg.linear.z, msg.angular.x, msg.angular.y, msg.angular.z])


def twist(linear=(0.0, 0.0, 0.0), angular=(0.0, 0.0, 0.0)):
    return M.msg_class("geometry_msgs/msg/Twist")(linear=M.vector3(linear), angular=M.vector3(angular))


# -- Nav: differential drive ---------------------------------------------------------


def _nav_spec():
    from simsuite.envs.navigation import SPEC

    return SPEC


def _nav_to_action(msg, env) -> np.ndarray:
    v = _twist_fields(msg)
    spec = _nav_spec()
    return np.array([v[0] / spec.max_speed_m_s, v[5] / spec.max_yaw_rate_rad_s])


def _nav_from_action(action, task, inputs=None):
    spec = _nav_spec()
    return twist((float(action[0]) * spec.max_speed_m_s, 0.0, 0.0), (0.0, 0.0, float(action[1]) * spec.max_yaw_rate_rad_s))


# -- Drive: Ackermann car from a body twist ---------------------------------------------


def _drive_to_action(msg, env) -> np.ndarray:
    from simsuite.worlds.roads import CarSpec

    v = _twist_fields(msg)
    car = CarSpec()
    lin, _ = env.backend.body_velocity(PROFILES["drive"].base_body, "body")
    speed = float(lin[0])
    steer = math.atan(car.wheelbase_m * v[5] / max(abs(v[0]), 1.0))
    return np.array([steer / car.max_steer_rad, min(max(0.5 * (v[0] - speed), -1.0), 1.0)])


def _drive_from_action(action, task, inputs):
    """The twist the bridge turns back into this action at the measured speed v (``/odom``):
    v_cmd = v + 2·pedal, ω = tan(δ)·max(|v_cmd|, 1 m/s) / L."""
    from simsuite.worlds.roads import CarSpec

    car = CarSpec()
    speed = float(inputs["odom"].twist.twist.linear.x)
    v_cmd = speed + 2.0 * float(action[1])
    w = math.tan(float(action[0]) * car.max_steer_rad) * max(abs(v_cmd), 1.0) / car.wheelbase_m
    return twist((v_cmd, 0.0, 0.0), (0.0, 0.0, w))


# -- Grasp: joint targets through forward kinematics -------------------------------------


def _grasp_to_action(msg, env) -> np.ndarray:
    from simsuite.worlds.tabletop import ARM_JOINTS, EE_BODY, FINGER_JOINTS, FINGER_MAX_M

    M.check_type(msg, "sensor_msgs/msg/JointState")
    names = list(msg.name)
    if len(msg.position) != len(names):
        raise MessageRejected(f"joint command has {len(names)} names but {len(msg.position)} positions")
    if len(set(names)) != len(names):
        raise MessageRejected(f"joint command repeats a name: {names}")
    unknown = sorted(set(names) - set(ARM_JOINTS) - set(FINGER_JOINTS))
    if unknown:
        raise MessageRejected(f"joint command names unknown joints {unknown}; known: {list(ARM_JOINTS + FINGER_JOINTS)}")
    missing = [j for j in ARM_JOINTS if j not in names]
    if missing:
        raise MessageRejected(f"joint command must give all seven arm joints; missing {missing}")
    target = dict(zip(names, M.check_finite("position", msg.position)))
    task, backend = env.task, env.backend
    kin = task.kinematics
    q_now, _ = backend.joint_states(kin.joint_names)
    q_cmd = np.array([target.get(j, q) for j, q in zip(kin.joint_names, q_now)])
    low, high = kin.joint_ranges.T
    outside = [j for j, q, lo, hi in zip(kin.joint_names, q_cmd, low, high) if j in target and not lo - 1e-6 <= q <= hi + 1e-6]
    if outside:
        raise MessageRejected(f"joint command outside the joint limits for {outside}")
    ee_now, rot_now = kin.body_pose(q_now, EE_BODY)
    ee_cmd, rot_cmd = kin.body_pose(q_cmd, EE_BODY)
    delta = (ee_cmd - ee_now) / task.max_step_m
    action = list(np.clip(delta, -1.0, 1.0))
    if task.control_yaw:
        dyaw = math.atan2(rot_cmd[1, 0], rot_cmd[0, 0]) - math.atan2(rot_now[1, 0], rot_now[0, 0])
        dyaw = (dyaw + math.pi) % (2 * math.pi) - math.pi
        action.append(min(max(dyaw / task.config.max_yaw_step_rad, -1.0), 1.0))
    fingers = [target[j] for j in FINGER_JOINTS if j in target]
    opening = sum(fingers) / len(fingers) * 2 if fingers else float(np.sum(backend.joint_states(FINGER_JOINTS)[0]))
    action.append(min(max(opening / FINGER_MAX_M - 1.0, -1.0), 1.0))
    return np.array(action)


def _measured_joints(msg, names) -> np.ndarray:
    """Positions of ``names`` from a JointState (any order, extra joints ignored)."""
    index = {n: i for i, n in enumerate(msg.name)}
    missing = [n for n in names if n not in index]
    if missing:
        raise MessageRejected(f"joint_states lacks {missing}")
    return np.array([msg.position[index[n]] for n in names], dtype=np.float64)


def _grasp_from_action(action, task, inputs):
    """The hand's Cartesian step (as the task takes it: from the measured hand, clipped to the
    workspace, yaw kept within its limit) solved to arm joint targets by IK from the measured
    joints; finger targets from ``grip`` (each finger half the opening)."""
    from simsuite.worlds.tabletop import ARM_JOINTS, EE_BODY, FINGER_JOINTS, FINGER_MAX_M

    kin, cfg = task.kinematics, task.config
    q_now = np.zeros(kin.n_joints)
    q_now[task._q_index] = _measured_joints(inputs["joint_states"], ARM_JOINTS + FINGER_JOINTS)
    ee, rot = kin.body_pose(q_now, EE_BODY)
    goal = np.clip(ee + np.asarray(action[:3], float) * task.max_step_m, task._workspace_low, task._workspace_high)
    yaw = math.atan2(rot[1, 0], rot[0, 0])
    if task.control_yaw:
        yaw = min(max(yaw + float(action[3]) * cfg.max_yaw_step_rad, -cfg.yaw_limit_rad), cfg.yaw_limit_rad)
    c, s = math.cos(yaw), math.sin(yaw)
    hand = np.array([[c, s, 0.0], [s, -c, 0.0], [0.0, 0.0, -1.0]])  # pointing down, x along the heading
    q = kin.solve_ik(q_now, EE_BODY, goal, hand, damping=cfg.ik_damping, max_step_rad=cfg.max_joint_step_rad).q
    finger = (float(action[-1]) + 1.0) / 2.0 * FINGER_MAX_M
    positions = np.r_[q[task._q_index][:7], finger, finger]
    return joint_command(ARM_JOINTS + FINGER_JOINTS, positions)


def _grasp_stop(task, inputs):
    """Hold where the arm is: the measured joint positions as the targets."""
    from simsuite.worlds.tabletop import ARM_JOINTS, FINGER_JOINTS

    msg = inputs.get("joint_states")
    if msg is None:
        return None  # nothing measured yet: nothing to hold
    names = ARM_JOINTS + FINGER_JOINTS
    return joint_command(names, _measured_joints(msg, names))


def joint_command(names, positions):
    """sensor_msgs/JointState with position targets only."""
    return M.msg_class("sensor_msgs/msg/JointState")(header=M.header(0.0, ""), name=list(names), position=M.f64(positions),
                                                     velocity=np.zeros(0), effort=np.zeros(0))


# -- UAV -----------------------------------------------------------------------------------


RPM_PER_RAD_S = 60.0 / (2 * math.pi)


def _uav_to_action(msg, env) -> np.ndarray:
    task = env.task
    if task.action == "ctbr":
        from simsuite.envs.uav import MAX_RATES_RAD_S

        v = _twist_fields(msg)
        collective = v[2] / (4 * task.params.max_thrust_n) * 2 - 1
        return np.r_[collective, v[3:6] / MAX_RATES_RAD_S]
    M.check_type(msg, "actuator_msgs/msg/Actuators")
    M.check_length("velocity", msg.velocity, 4)
    w = M.check_finite("velocity", msg.velocity)
    if (w < 0).any():
        raise MessageRejected(f"rotor speeds must be >= 0 rad/s, got {w}")
    return w * RPM_PER_RAD_S / task.params.motor.max_rpm * 2 - 1


def _uav_from_action(action, task, inputs=None):
    if task.action == "ctbr":
        from simsuite.envs.uav import MAX_RATES_RAD_S

        thrust = (float(action[0]) + 1) / 2 * 4 * task.params.max_thrust_n
        return twist((0.0, 0.0, thrust), tuple(np.asarray(action[1:4]) * MAX_RATES_RAD_S))
    rad_s = (np.asarray(action, float) + 1) / 2 * task.params.motor.max_rpm / RPM_PER_RAD_S
    empty = np.zeros(0)
    return M.msg_class("actuator_msgs/msg/Actuators")(header=M.header(0.0, ""), position=empty, velocity=M.f64(rad_s), normalized=empty)


def _uav_stop(task, inputs=None):
    return _uav_from_action(-np.ones(4), task)  # motors off / zero thrust, zero rates


PROFILES: dict[str, Profile] = {
    "nav": Profile("nav", "robot", "/cmd_vel", "geometry_msgs/msg/Twist", _nav_to_action, _nav_from_action, lambda task, inputs=None: twist(),
                   joints=("robot_wheel_left_joint", "robot_wheel_right_joint")),
    "drive": Profile("drive", "ego", "/cmd_vel", "geometry_msgs/msg/Twist", _drive_to_action, _drive_from_action,
                     lambda task, inputs=None: twist(), inputs=("odom",)),
    "grasp": Profile("grasp", "panda_link0", "/joint_command", "sensor_msgs/msg/JointState", _grasp_to_action, _grasp_from_action,
                     _grasp_stop, joints=tuple(f"panda_joint{i}" for i in range(1, 8)) + ("panda_finger_joint1", "panda_finger_joint2"),
                     inputs=("joint_states",)),
    "uav": Profile("uav", "quadrotor", "/cmd_motors", "actuator_msgs/msg/Actuators", _uav_to_action, _uav_from_action, _uav_stop),
}

_FAMILY_OF_TASK = {"NavTask": "nav", "DriveTask": "drive", "GraspTask": "grasp", "UAVTask": "uav"}


def profile_for(task) -> Profile:
    """The profile of a task instance (UAV's command depends on its ``action`` option)."""
    family = _FAMILY_OF_TASK.get(type(task).__name__)
    if family is None:
        raise ValueError(f"no ROS profile for task {type(task).__name__}; families: {sorted(_FAMILY_OF_TASK)}")
    prof = PROFILES[family]
    if family == "uav" and task.action == "ctbr":
        prof = Profile("uav", prof.base_body, "/cmd_vel", "geometry_msgs/msg/Twist", prof.to_action, prof.from_action, prof.stop)
    return prof
