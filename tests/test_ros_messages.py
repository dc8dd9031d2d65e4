"""ROS bridge pieces that need no network: message encoding, DDS types, the command door,
bag recording and reading. (Everything that talks to a ROS graph is in test_ros_bridge.py.)"""

from __future__ import annotations

import math

import gymnasium
import numpy as np
import pytest

import simsuite  # noqa: F401
from simsuite.ros import messages as M
from simsuite.calibration.rollouts import load_rollouts
from simsuite.ros.bag import BagError, BagRecorder, read_bag_episodes, read_bag_rollout
from simsuite.ros.families import profile_for, twist
from simsuite.ros.messages import MessageRejected
from simsuite.ros.netns import cyclone_config, netns_argv
from simsuite.ros.transport import dds_name, dds_topic, dds_type
from simsuite.sensors.lidar import LidarConfig


def test_dds_types_generated_from_rosbags_encode_like_rosbags():
    """Cyclone's serializer on the generated type gives rosbags' CDR bytes, byte for byte."""
    scan = M.laser_scan(12.25, "lidar", np.linspace(0.2, 3.0, 360), LidarConfig(), 0.1)
    odom = M.odometry(3.5, "odom", "base_link", (1, 2, 0), (math.cos(0.3), 0, 0, math.sin(0.3)), (0.2, 0, 0), (0, 0, 0.5))
    for msg in (scan, odom, M.clock(7.0), twist((0.1, 0, 0), (0, 0, -0.2))):
        msgtype = msg.__msgtype__
        cls = dds_type(msgtype)
        assert cls.__idl_typename__ == dds_name(msgtype)
        dds_msg = cls.deserialize(M.serialize(msg))  # Cyclone decodes rosbags' bytes...
        assert dds_msg.serialize() == M.serialize(msg)  # ...and encodes them back identically
    assert dds_name("sensor_msgs/msg/LaserScan") == "sensor_msgs::msg::dds_::LaserScan_"
    assert dds_topic("/scan") == "rt/scan" and dds_topic("cmd_vel") == "rt/cmd_vel"


def test_message_builders_follow_ros_conventions():
    q = (math.cos(0.25), 0.0, 0.0, math.sin(0.25))  # SimSuite (w, x, y, z): yaw 0.5 rad
    tf = M.transform(1.5, "odom", "base_link", (1, 2, 3), q)
    r = tf.transform.rotation
    assert (r.x, r.y, r.z, r.w) == pytest.approx((0, 0, math.sin(0.25), math.cos(0.25)))  # ROS (x, y, z, w)
    assert np.allclose(M.quaternion_wxyz(r), q)
    assert (tf.header.stamp.sec, tf.header.stamp.nanosec) == (1, 500_000_000)
    imu = M.imu(0.0, "imu", np.array([0.1, 0.2, 9.8, 0.01, 0.02, 0.03], np.float32))
    assert imu.orientation_covariance[0] == -1  # REP-145: no orientation estimate
    assert imu.linear_acceleration.z == pytest.approx(9.8) and imu.angular_velocity.z == pytest.approx(0.03)
    rgb = np.random.default_rng(0).integers(0, 255, (48, 64, 3), dtype=np.uint8)
    img = M.deserialize(M.serialize(M.image(0.1, "camera_optical", rgb)), "sensor_msgs/msg/Image")
    assert (img.encoding, img.step) == ("rgb8", 192) and np.array_equal(img.data.reshape(48, 64, 3), rgb)
    depth = np.full((48, 64), 2.5, np.float32)
    img = M.deserialize(M.serialize(M.image(0.1, "camera_optical", depth)), "sensor_msgs/msg/Image")
    assert img.encoding == "32FC1" and np.array_equal(img.data.view(np.float32).reshape(48, 64), depth)
    info = M.camera_info(0.0, "camera_optical", 640, 480, 60.0)
    assert info.k[4] == pytest.approx(240 / math.tan(math.radians(30)))
    cloud = M.point_cloud(0.0, "lidar", np.arange(12, dtype=np.float32).reshape(4, 3))
    assert (cloud.width, cloud.point_step, [f.name for f in cloud.fields]) == (4, 12, ["x", "y", "z"])


def test_cyclone_config_binds_loopback_by_default():
    xml = cyclone_config()
    assert '<NetworkInterface name="lo"/>' in xml and '<Peer address="127.0.0.1"/>' in xml
    named = cyclone_config("eth1")
    assert '<NetworkInterface name="eth1"/>' in named and "Peer address" not in named
    argv = netns_argv(["python", "x.py"])
    assert argv[:2] == ["unshare", "-n"] and "ip route add 224.0.0.0/4 dev lo" in argv[-1]


@pytest.fixture(scope="module")
def nav():
    env = gymnasium.make("SimSuite/Nav-v0")
    env.reset(seed=0)
    yield env.unwrapped
    env.close()


def test_nav_twist_maps_to_the_action_and_back(nav):
    prof = profile_for(nav.task)
    assert (prof.command_topic, prof.command_type) == ("/cmd_vel", "geometry_msgs/msg/Twist")
    action = prof.to_action(twist((0.11, 0.0, 0.0), (0.0, 0.0, -1.42)), nav)
    assert action == pytest.approx([0.5, -0.5])
    back = prof.from_action(np.array([0.5, -0.5]), nav.task)
    assert (back.linear.x, back.angular.z) == pytest.approx((0.11, -1.42))


@pytest.mark.parametrize("bad, reason", [
    (twist((float("nan"), 0, 0)), "NaN"),
    (twist((0, 0, 0), (0, 0, float("inf"))), "NaN or inf"),
    (M.string("go"), "expected geometry_msgs/msg/Twist, got std_msgs/msg/String"),
])
def test_bad_nav_commands_are_rejected_with_a_reason(nav, bad, reason):
    with pytest.raises(MessageRejected, match=reason):
        profile_for(nav.task).to_action(bad, nav)


def test_grasp_joint_command_checks_and_converts():
    env = gymnasium.make("SimSuite/Grasp-v0", num_objects=1)
    env.reset(seed=0)
    sim = env.unwrapped
    prof = profile_for(sim.task)
    names = [f"panda_joint{i}" for i in range(1, 8)]
    q, _ = sim.backend.joint_states(names)

    def cmd(n, p):
        return M.joint_state(0.0, n, p, np.zeros(0))

    # holding the current joints and closing the fingers: no hand motion, gripper closes
    action = prof.to_action(cmd(names + ["panda_finger_joint1", "panda_finger_joint2"], list(q) + [0.0, 0.0]), sim)
    assert action.shape == sim.action_space.shape
    assert np.abs(action[:4]).max() < 1e-6 and action[-1] == pytest.approx(-1.0)
    q2 = q.copy()
    q2[1] += 0.05  # shoulder forward: the hand moves
    assert np.abs(prof.to_action(cmd(names, q2), sim)[:3]).max() > 0.1
    for bad, reason in [
        (cmd(names[:6], q[:6]), "missing"),
        (cmd(names, list(q) + [0.0]), "7 names but 8 positions"),
        (cmd(names + ["elbow"], list(q) + [0.0]), "unknown joints"),
        (cmd(names, np.r_[q[:6], np.nan]), "NaN"),
        (cmd(names, np.r_[q[:6], 99.0]), "outside the joint limits"),
        (twist(), "expected sensor_msgs/msg/JointState"),
    ]:
        with pytest.raises(MessageRejected, match=reason):
            prof.to_action(bad, sim)
    env.close()


@pytest.mark.parametrize("mode", ["motors", "ctbr"])
def test_uav_commands_round_trip(mode):
    env = gymnasium.make("SimSuite/UAV-v0", action=mode)
    env.reset(seed=0)
    sim = env.unwrapped
    prof = profile_for(sim.task)
    assert prof.command_type == ("actuator_msgs/msg/Actuators" if mode == "motors" else "geometry_msgs/msg/Twist")
    a = np.array([0.3, -0.2, 0.1, 0.5])
    msg = prof.from_action(a, sim.task)
    msg = M.deserialize(M.serialize(msg, prof.command_type), prof.command_type)  # through the wire format
    assert prof.to_action(msg, sim) == pytest.approx(a)
    if mode == "motors":
        short = M.msg_class("actuator_msgs/msg/Actuators")(header=M.header(0, ""), position=np.zeros(0), velocity=np.ones(3), normalized=np.zeros(0))
        with pytest.raises(MessageRejected, match="must have 4 entries, got 3"):
            prof.to_action(short, sim)
    env.close()


def test_bag_records_and_reads_back_as_rollouts(tmp_path):
    env = gymnasium.make("SimSuite/Nav-v0", obs=("state", "lidar"))
    obs, _ = env.reset(seed=1)
    rec = BagRecorder(tmp_path / "bag", env_id="SimSuite/Nav-v0", env=env, source="bridge")
    backend = env.unwrapped.backend
    rec.reset(obs, 0.0, backend.get_state())
    sent, seen, states = [], [obs], [backend.get_state()]
    for k in range(5):
        a = np.array([0.5, 0.1 * k], np.float32)
        obs, *_ = env.step(a)
        rec.step(a, 0.1 * k, obs, 0.1 * (k + 1), state=backend.get_state())
        sent.append(a)
        seen.append(obs)
        states.append(backend.get_state())
    rec.reset(obs, 0.7)  # a second episode of two steps, then a third with no action
    for k in range(2):
        obs, *_ = env.step(np.zeros(2, np.float32))
        rec.step(np.zeros(2, np.float32), 0.7 + 0.1 * k, obs, 0.8 + 0.1 * k, state=backend.get_state())
    rec.reset(obs, 1.0)
    rec.close({"steps": 7})
    env.close()
    meta, episodes = read_bag_episodes(tmp_path / "bag")
    assert meta["obs_keys"] == ["lidar", "state"] and len(episodes) == 3
    rollouts = load_rollouts(tmp_path / "bag", "SimSuite/Nav-v0")  # every episode with a step
    assert [r.steps for r in rollouts] == [5, 2] and [r.meta["episode"] for r in rollouts] == [0, 1]
    r = read_bag_rollout(next((tmp_path / "bag").glob("*.mcap")), "SimSuite/Nav-v0")
    assert np.allclose(r.t_s, 0.1 * np.arange(6))
    assert np.array_equal(r.actions, np.float64(sent))
    assert np.array_equal(np.float32(r.obs["lidar"]), np.stack([o["lidar"] for o in seen]))
    assert np.array_equal(np.float32(r.obs["state"]), np.stack([o["state"] for o in seen]))
    assert np.array_equal(r.states, np.stack(states))  # exact simulator states, for calibration
    with pytest.raises(BagError, match="not 'SimSuite/UAV-v0'"):
        read_bag_rollout(tmp_path / "bag", "SimSuite/UAV-v0")
    with pytest.raises(BagError, match="episode 5 does not exist"):
        read_bag_rollout(tmp_path / "bag", episode=5)
    with pytest.raises(FileExistsError):
        BagRecorder(tmp_path / "bag", env_id=None, env=gymnasium.make("SimSuite/Nav-v0"), source="bridge")


def test_a_foreign_bag_is_refused(tmp_path):
    from rosbags.rosbag2 import StoragePlugin, Writer

    with Writer(tmp_path / "foreign", version=9, storage_plugin=StoragePlugin.MCAP) as w:
        conn = w.add_connection("/chatter", "std_msgs/msg/String", typestore=M.typestore())
        w.write(conn, 1, M.serialize(M.string("hi")))
    with pytest.raises(BagError, match="no /simsuite/observation topic"):
        read_bag_rollout(tmp_path / "foreign")


def test_preallocated_messages_encode_like_rosbags():
    """The bridge's per-step path patches serialized bytes in place; after any patch they are
    the bytes rosbags writes for the same message, byte for byte."""
    from simsuite.ros.cdr import CdrTemplate, Outgoing

    rng = np.random.default_rng(3)
    rgb = rng.integers(0, 255, (48, 64, 3), dtype=np.uint8)
    templates = [M.clock(0.0), M.laser_scan(0.0, "lidar", np.ones(360), LidarConfig(), 0.1), M.imu(0.0, "imu", np.zeros(6)),
                 M.joint_state(0.0, ["left", "right_wheel"], np.zeros(2), np.zeros(2)),
                 M.odometry(0.0, "odom", "base_link", np.zeros(3), (1, 0, 0, 0), np.zeros(3), np.zeros(3)),
                 M.tf_message([M.transform(0.0, "odom", "base_link", np.zeros(3), (1, 0, 0, 0))]),
                 M.image(0.0, "camera_optical", rgb), M.image(0.0, "camera_optical", np.zeros((48, 64), np.float32)),
                 M.camera_info(0.0, "camera_optical", 64, 48, 60.0)]
    for msg in templates:
        assert CdrTemplate(msg).bytes() == M.serialize(msg), msg.__msgtype__
    for k in range(3):
        t = float(rng.uniform(0, 1e5))
        pos, lin, ang = rng.normal(size=3), rng.normal(size=3), rng.normal(size=3)
        q = rng.normal(size=4)
        q /= np.linalg.norm(q)
        xyzw = (q[1], q[2], q[3], q[0])
        odom = Outgoing(templates[4], {"pos": "pose.pose.position", "quat": "pose.pose.orientation",
                                       "lin": "twist.twist.linear", "ang": "twist.twist.angular"})
        assert odom.fill(t, pos=pos, quat=xyzw, lin=lin, ang=ang).bytes() == M.serialize(M.odometry(t, "odom", "base_link", pos, q, lin, ang))
        ranges = rng.uniform(0.1, 12, 360).astype(np.float32)
        scan = Outgoing(templates[1], {"ranges": "ranges"})
        assert scan.fill(t, ranges=ranges).bytes() == M.serialize(M.laser_scan(t, "lidar", ranges, LidarConfig(), 0.1))
        reading = rng.normal(size=6)
        imu = Outgoing(templates[2], {"acc": "linear_acceleration", "gyro": "angular_velocity"})
        assert imu.fill(t, acc=reading[:3], gyro=reading[3:]).bytes() == M.serialize(M.imu(t, "imu", reading))
        tf = Outgoing(templates[5], {"pos": "transforms.0.transform.translation", "quat": "transforms.0.transform.rotation"},
                      "transforms.0.header.stamp")
        assert tf.fill(t, pos=pos, quat=xyzw).bytes() == M.serialize(M.tf_message([M.transform(t, "odom", "base_link", pos, q)]))
        image = Outgoing(templates[6], {"data": "data"})
        frame = rng.integers(0, 255, rgb.shape, dtype=np.uint8)
        assert image.fill(t, data=frame.reshape(-1)).bytes() == M.serialize(M.image(t, "camera_optical", frame))
    with pytest.raises(KeyError, match="no numeric field 'ranges'"):
        CdrTemplate(templates[2]).field("ranges")


def test_nav_state_restores_the_step_exactly():
    """Nav's full env state (engine, task: command, goal, potential) replays a step exactly
    after a reset with the episode's seed: what calibrating from bridge bags relies on."""
    env = gymnasium.make("SimSuite/Nav-v0")
    sim = env.unwrapped
    env.reset(seed=11)
    for k in range(5):
        env.step(np.array([0.8, 0.3 * k], np.float32))
    state = sim.get_state()
    a = np.array([0.5, -0.4], np.float32)
    expected = env.step(a)
    env.reset(seed=11)
    sim.set_state(state)
    got = env.step(a)
    assert np.array_equal(got[0], expected[0]) and got[1] == expected[1]
    with pytest.raises(ValueError, match="must have shape"):
        sim.set_state(state[:-1])
    env.close()


def test_drive_and_grasp_actions_round_trip_through_their_commands():
    """RosEnv's action -> command (with the robot's measured speed or joints) and the bridge's
    command -> action are inverses: a policy's action reaches the twin's physics unchanged."""
    from simsuite.worlds.tabletop import ARM_JOINTS, FINGER_JOINTS

    env = gymnasium.make("SimSuite/Drive-v0")
    env.reset(seed=2)
    for _ in range(5):
        env.step(np.array([0.1, 0.5], np.float32))
    sim = env.unwrapped
    prof = profile_for(sim.task)
    lin, ang = sim.backend.body_velocity("ego", "body")
    odom = M.odometry(0.0, "odom", "base_link", np.zeros(3), (1, 0, 0, 0), lin, ang)
    for a in ([0.3, -0.4], [-0.9, 0.8], [0.0, 0.0]):
        msg = prof.from_action(np.array(a), sim.task, {"odom": odom})
        assert msg.__msgtype__ == "geometry_msgs/msg/Twist"
        assert np.allclose(prof.to_action(msg, sim), a, atol=1e-9)
    assert prof.stop(sim.task, {}).linear.x == 0.0
    env.close()

    env = gymnasium.make("SimSuite/Grasp-v0")
    env.reset(seed=2)
    sim = env.unwrapped
    prof = profile_for(sim.task)
    names = ARM_JOINTS + FINGER_JOINTS
    q, qd = sim.backend.joint_states(names)
    inputs = {"joint_states": M.joint_state(0.0, names, q, qd)}
    for a in ([0.5, -0.3, 0.2, 0.1, 0.6], [-1.0, 1.0, -1.0, -0.5, -1.0], [0.0, 0.0, 0.0, 0.0, 0.0]):
        msg = prof.from_action(np.array(a), sim.task, inputs)
        assert list(msg.name) == list(names)
        assert np.allclose(prof.to_action(msg, sim), a, atol=1e-3)  # IK solved to 0.1 mm of the hand's goal
    hold = prof.stop(sim.task, inputs)
    assert np.array_equal(hold.position, q) and prof.stop(sim.task, {}) is None  # hold the measured joints
    env.close()
