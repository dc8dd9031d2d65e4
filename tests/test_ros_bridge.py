"""The ROS bridge against genuine ROS 2: a real rclpy node (Fast DDS, in its own venv) on one
side, SimSuite over Cyclone DDS on the other.

Every process that starts a DDS participant runs inside a private network namespace with
only a loopback interface (``netns_argv``: ``unshare -n`` + loopback multicast): nothing can
leave the machine. The scenario scripts live in ``tests/ros_peers/``; each prints its results
as one JSON line, checked here.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from simsuite.ros.netns import netns_argv, netns_available

PEERS = Path(__file__).parent / "ros_peers"
PEER_PY = Path(os.environ.get("SIMSUITE_ROSPEER_PY") or Path(__file__).parents[1] / ".venv-rospeer" / "bin" / "python")


def _need(condition: bool, why: str) -> None:
    """Skip on a developer machine without the piece; in CI (CI=true) a missing piece fails."""
    if not condition:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{why} (CI installs it: .ci/run)")
        pytest.skip(why)


@pytest.fixture(scope="module")
def rclpy_peer() -> Path:
    _need(netns_available(), "needs root with unshare and ip for a private network namespace")
    _need(PEER_PY.exists(), f"needs the rclpy peer venv at {PEER_PY} (./run test installs it)")
    return PEER_PY


def run_scenario(script: str, *args: str, timeout_s: float = 150) -> dict:
    """Run a scenario in a private network namespace; its last stdout line is JSON."""
    env = dict(os.environ, SIMSUITE_ROSPEER_PY=str(PEER_PY), PYTHONUNBUFFERED="1")
    proc = subprocess.run(netns_argv([sys.executable, str(PEERS / script), *args]), capture_output=True, text=True,
                          timeout=timeout_s, env=env)
    assert proc.returncode == 0, f"{script} failed ({proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-5000:]}"
    return json.loads(proc.stdout.strip().splitlines()[-1])


STEPS = 200


@pytest.fixture(scope="module")
def lockstep_run(rclpy_peer, tmp_path_factory) -> tuple[dict, Path]:
    """One recorded lockstep session of an rclpy controller driving Nav-v0 (shared by the tests that read it)."""
    folder = tmp_path_factory.mktemp("lockstep")
    return run_scenario("scenario_lockstep.py", str(STEPS), str(folder), "6"), folder


def test_rclpy_controller_drives_nav_in_lockstep(lockstep_run):
    steps = STEPS
    r, tmp_path = lockstep_run
    stats, peer = r["stats"], r["peer"]
    # every step answered, none timed out, nothing rejected
    assert peer["answered"] == steps and stats["commands"] == steps
    assert stats["steps"] == steps and stats["timeouts"] == 0 and stats["rejected"] == 0
    # the node runs on the bridge's clock: N·dt (plus one dt per episode restart, if any)
    dt = 0.1
    assert peer["use_sim_time"] is True
    assert peer["clock_ns"] == round((steps + r["episodes"]) * dt * 1e9) == round(r["ros_time"] * 1e9)
    if r["episodes"] == 0:
        assert peer["clock_ns"] == round(steps * dt * 1e9)
    # the last LaserScan the node received is the env's observation, with its stamp
    assert np.array_equal(np.float32(peer["last_scan"]), np.float32(r["lidar"]))
    assert peer["scan_stamp"] == pytest.approx(r["lidar_stamp"], abs=1e-9)
    angle_min, increment, range_min, range_max, frame = peer["scan_meta"]
    assert angle_min == pytest.approx(-math.pi) and increment == pytest.approx(2 * math.pi / 360)
    assert (range_min, range_max, frame) == (pytest.approx(0.15), 12.0, "lidar")
    # the IMU is published at its own rate (every 5 ms physics step: the BMI088's 1 kHz is above
    # the physics rate), each sample with its own stamp, not once per 0.1 s control step (the node
    # keeps 100 per topic and may drop some when it falls behind; the bag below has them all)
    assert peer["imu"] > 5 * steps and np.median(np.diff(peer["imu_stamps"])) == pytest.approx(0.005, abs=1e-6)
    # the commands reached the physics exactly: a bare env fed the same sequence matches
    assert r["replay_identical"]

    # the recorded bag reads back with an independent reader and as a rollout
    from mcap.reader import make_reader
    from mcap_ros2.decoder import DecoderFactory

    from simsuite.ros.bag import read_bag_episodes, read_bag_rollout

    bag = tmp_path / "bag"
    mcap = next(bag.glob("*.mcap"))
    counts: dict[str, int] = {}
    last_scan, imu_stamps = None, []
    with open(mcap, "rb") as f:
        for _, channel, _, msg in make_reader(f, decoder_factories=[DecoderFactory()]).iter_decoded_messages():
            counts[channel.topic] = counts.get(channel.topic, 0) + 1
            if channel.topic == "/scan":
                last_scan = np.asarray(msg.ranges, np.float32)
            if channel.topic == "/imu":
                imu_stamps.append(msg.header.stamp.sec + msg.header.stamp.nanosec * 1e-9)
            if channel.topic == "/cmd_vel" and counts["/cmd_vel"] == 1:
                assert (msg.linear.x, msg.angular.z) == (0.15, 0.0)
    assert counts["/cmd_vel"] == steps and counts["/clock"] == steps + 1 + r["episodes"]
    assert counts["/simsuite/action"] == steps and counts["/tf_static"] == 1
    assert counts["/imu"] == 20 * steps + 1 + r["episodes"]  # every 5 ms sample, and one at each reset
    if r["episodes"] == 0:
        assert np.allclose(np.diff(imu_stamps), 0.005, atol=1e-8)
    assert np.array_equal(last_scan, np.float32(r["lidar"]))
    meta, episodes = read_bag_episodes(bag)
    assert meta["env_id"] == "SimSuite/Nav-v0" and meta["obs_keys"] == ["imu", "lidar", "state"]
    assert sum(len(e["actions"]) for e in episodes) == steps
    rollout = read_bag_rollout(mcap, "SimSuite/Nav-v0")
    n = len(rollout.actions) + 1
    assert {k: v.shape for k, v in rollout.obs.items()} == {"imu": (n, 6), "lidar": (n, 360), "state": (n, 31)}
    assert rollout.t_s[0] == 0.0 and np.allclose(np.diff(rollout.t_s), dt)
    assert np.allclose(rollout.actions[0], [0.15 / 0.22, 0.0]) and rollout.meta["source"] == "ros"
    if r["episodes"] == 0:
        assert np.array_equal(np.float32(rollout.obs["lidar"][-1]), np.float32(r["lidar"]))
    from simsuite.calibration.rollouts import load_rollout

    assert load_rollout(bag, "SimSuite/Nav-v0").steps == rollout.steps  # the calibration loop's reader
    assert rollout.meta["seed"] == 6 and rollout.meta["env_state_layout"] == "SimEnv.get_state"
    assert [e["seed"] for e in episodes] == [6 + k for k in range(len(episodes))]  # each episode's world replays


def test_simsuite_calibrate_accepts_a_bridge_bag(lockstep_run, tmp_path):
    """`simsuite calibrate SimSuite/Nav-v0 --real <bag>`: the bag carries the episode seed (the
    floor plan is rebuilt from it), the parameters and the full env state, so the simulator
    at nominal parameters replays every recorded transition exactly."""
    _, folder = lockstep_run
    out = tmp_path / "cal"
    argv = [sys.executable, "-m", "simsuite.cli", "calibrate", "SimSuite/Nav-v0", "--real", str(folder / "bag"),
            "--generations", "2", "--workers", "1", "--out", str(out)]
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    result = json.loads((out / "result.json").read_text())
    assert result["errors"]["nominal parameters"] < 1e-6  # exact replay from the recorded states
    assert set(result["mean"]) == {"robot.mass_kg", "motor.gain", "actuation.latency_s"}
    assert (out / "fitted.yaml").exists() and "1 real rollouts" in (out / "report.md").read_text()


def test_bad_commands_are_rejected_and_timeouts_counted(rclpy_peer):
    r = run_scenario("scenario_reject.py", "6")
    stats = r["stats"]
    # the NaN twist is rejected with its reason; the truncated sample does not even reach the
    # bridge: Cyclone's own normalization of incoming samples drops it
    assert stats["rejected"] == 1, stats
    assert stats["last_reject"].startswith("/cmd_vel: twist contains NaN or inf")
    assert stats["commands"] == 2 and stats["timeouts"] == 1 and stats["steps"] == 3
    assert r["replay_identical"]  # the physics saw only the valid commands and the stop command


def test_rosenv_against_an_rclpy_robot(rclpy_peer, tmp_path):
    good = 10
    r = run_scenario("scenario_rosenv.py", str(tmp_path), str(good))
    assert all(r["in_space"]) and r["steps_ok"] == good
    assert "no fresh" in r["error"] and r["timeouts"] == 1  # the stalled robot triggered the policy
    commands = r["robot"]["commands"]
    # the robot got: the reset's stop, one twist per action (in physical units), then a stop on the timeout
    assert commands[0] == [0.0, 0.0]
    for a, (v, w) in zip(r["actions"], commands[1:]):
        assert v == pytest.approx(a[0] * 0.22) and w == pytest.approx(a[1] * 2.84)
    assert len(commands) == good + 3 and commands[-1] == [0.0, 0.0]
    # the observation came from the robot's topics: its odometry speed and its scan
    state = np.asarray(r["last_state"])
    assert state[3] == pytest.approx(0.5 * 0.22, rel=1e-5)
    assert 0.15 < min(r["last_lidar"]) and max(r["last_lidar"]) < 6.0  # inside the 3 m round room
    from simsuite.ros.bag import read_bag_rollout

    rollout = read_bag_rollout(tmp_path / "bag", "SimSuite/Nav-v0")
    assert rollout.actions.shape == (good, 2) and rollout.obs["lidar"].shape == (good + 1, 360)
    assert rollout.meta["recorded_by"] == "rosenv"
    assert np.all(np.diff(rollout.t_s) > 0)


def test_ros1_rostopic_reads_the_scan_and_moves_the_robot():
    import shutil

    from simsuite.ros.ros1 import DEBIAN_DIST_PACKAGES

    _need(netns_available(), "needs root with unshare and ip for a private network namespace")
    _need(shutil.which("roscore") is not None and (DEBIAN_DIST_PACKAGES / "rospy").is_dir(),
          "needs ROS 1 from Debian: apt-get install ros-core python3-rospy python3-rostopic python3-sensor-msgs ...")
    r = run_scenario("scenario_ros1.py")
    assert r["echo_ok"] and not r["spin_error"]
    assert 'frame_id: "lidar"' in r["echo"] and "angle_min: -3.14159" in r["echo"] and "ranges: [" in r["echo"]
    assert r["moved_before_pub_m"] < 0.01  # no command: the stop command holds it
    assert r["stats"]["commands"] >= 20 and r["stats"]["rejected"] == 0
    assert r["max_speed"] > 0.15 and r["moved_m"] > 0.3  # 0.2 m/s from `rostopic pub` for about 4 s


def test_simsuite_rclpy_transport_talks_to_the_dds_transport(rclpy_peer, tmp_path):
    r = run_scenario("scenario_rclpy_transport.py", str(tmp_path / "peer.json"))
    assert r["rc"] == 0
    assert [s[1] for s in r["scans"]] == [1.0 + k for k in range(20)]
    assert all(n == 360 and frame == "lidar" for _, _, n, frame in r["scans"])
    got = r["peer"]["got"]
    assert [v for v, _ in got] == [1.0 + k for k in range(20)]
    assert [w for _, w in got] == pytest.approx([0.1 * k for k in range(20)])


@pytest.mark.parametrize("policy", ["raise", "step"])
def test_cli_lockstep_without_a_controller_follows_the_timeout_policy(policy, tmp_path):
    _need(netns_available(), "needs root with unshare and ip for a private network namespace")
    argv = [sys.executable, "-m", "simsuite.cli", "bridge", "SimSuite/Nav-v0", "--lockstep", "--timeout", "0.2",
            "--on-timeout", policy, "--steps", "4", "--wait-for-peer", "0", "--record", str(tmp_path / "bag")]
    proc = subprocess.run(netns_argv(argv), capture_output=True, text=True, timeout=120)
    out = proc.stdout + proc.stderr
    if policy == "raise":
        assert proc.returncode == 3 and "lockstep timeout: no valid command on /cmd_vel within 0.2 s after step 0" in out
        assert "'timeouts': 1" in out and "'steps': 0" in out
    else:
        assert proc.returncode == 0, out
        assert "'timeouts': 4" in out and "'steps': 4" in out and "stepping with the stop command" in out
        from simsuite.ros.bag import read_bag_rollout

        rollout = read_bag_rollout(tmp_path / "bag")
        assert rollout.actions.shape == (4, 2) and not rollout.actions.any()  # the stop command, recorded


def test_rosenv_drive_and_grasp_against_rclpy_robots(rclpy_peer, tmp_path):
    """Drive-v0 and Grasp-v0 as RosEnvs: the car gets twists that the bridge would turn back into
    the policy's actions at its measured speed; the Panda gets IK joint targets that move its
    hand by the action's Cartesian step; observations come from the robots' topics."""
    from simsuite.worlds.roads import CarSpec

    r = run_scenario("scenario_rosenv_families.py", str(tmp_path))
    d = r["drive"]
    assert all(d["in_space"])
    commands = d["robot"]["commands"]  # (speed the car had reported, v_cmd, ω) per command received
    assert len(commands) == len(d["actions"]) + 2 and commands[0][1:] == [0.0, 0.0] and commands[-1][1:] == [0.0, 0.0]
    car = CarSpec()
    for (steer, pedal), (v, v_cmd, w) in zip(d["actions"], commands[1:]):
        assert v_cmd == pytest.approx(v + 2 * pedal)
        assert w == pytest.approx(math.tan(steer * car.max_steer_rad) * max(abs(v_cmd), 1.0) / car.wheelbase_m)
    assert commands[2][0] > 0.2  # the car sped up: the pedal acted on its measured speed
    # the VLP-16 cloud became the twin's (16, 1800) range image: channel c at 5 + 0.25·c m on the
    # beams with a return (788..1012), the no-return value (100 m, the range maximum) elsewhere
    assert d["lidar_shape"] == [16, 1800] and d["lidar_min"] == pytest.approx(5.0, abs=1e-4)
    assert np.allclose(d["lidar_sector"], [[5 + 0.25 * c] * 2 for c in range(16)], atol=1e-4)  # per channel: min, max
    assert d["lidar_outside"] == [100.0, 100.0]
    assert d["imu"][-1][2] == pytest.approx(9.81) and d["imu"][-1][5] == pytest.approx(commands[-2][2])

    g = r["grasp"]
    assert all(g["in_space"])
    states, commands = np.asarray(g["states"]), g["robot"]["commands"]
    assert np.allclose(commands.pop(0), states[0][:9], atol=1e-6)  # the reset held the measured joints
    assert len(commands) == len(g["actions"]) + 1  # one joint command per action, then the hold on close
    for k, a in enumerate(g["actions"]):
        assert np.allclose(states[k + 1][:9], commands[k], atol=1e-6)  # the robot reached the command; the env saw it
        hand_step = states[k + 1][18:21] - states[k][18:21]  # grasp frame by forward kinematics of /joint_states
        assert np.allclose(hand_step, np.asarray(a[:3]) * 0.02, atol=2e-4)
        assert states[k + 1][21] == pytest.approx((a[4] + 1) / 2 * 0.08, abs=1e-6)  # the opening
    assert np.allclose(states[-1][22:25], [0.5, 0.1, 0.445], atol=1e-6)  # /object_pose
    assert np.allclose(states[-1][29:32], states[-1][22:25] - states[-1][18:21], atol=1e-5)
    assert np.allclose(commands[-1], states[-1][:9], atol=1e-6)  # close: hold the measured joints
