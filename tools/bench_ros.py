"""ROS bridge benchmark: lockstep overhead per step and camera topic rate, against the same
env stepped without the bridge in the same run.

Every DDS participant runs inside a private network namespace with loopback only: the
script re-runs itself under ``unshare -n`` (it needs root, as CI has).

Rows:
- ``bare env``: Nav-v0 with LIDAR and IMU observed, ``env.step`` per step (the baseline);
- ``bridge, own work``: the bridge's own time per lockstep step (command checks and
  conversion, encoding and publishing /clock, /scan, every /imu sample of the step (20 at
  200 Hz), /joint_states, /tf, /odom), measured inside the bridge around ``env.step``, as wall
  time and as the thread's CPU time (robust to a loaded machine);
- encoding one step's messages the old way (rosbags objects) and from preallocated templates,
  interleaved in one loop (a same-run comparison);
- ``lockstep cycle - env.step``: the whole lockstep cycle minus env.step, with a controller in
  another process (Cyclone DDS, answering each /odom at once) and, if its venv exists, with the
  real rclpy controller: the round trip through the controller is included;
- camera: free-running as fast as possible with a 640×480 RGB + depth camera, images per second
  received by a subscriber process, and the serialization costs of one frame.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))


def ms(values) -> tuple[float, float]:
    a = 1e3 * np.asarray(values)
    return round(float(np.median(a)), 3), round(float(np.percentile(a, 95)), 3)


# -- helper processes (run inside the namespace) --------------------------------------------
def responder(seconds: float) -> None:
    """Answer every /odom with a Twist at once; count images received."""
    from simsuite.ros.families import twist
    from simsuite.ros.transport import make_transport

    tr = make_transport("dds")
    pub = tr.publisher("/cmd_vel", "geometry_msgs/msg/Twist")
    msg = twist((0.1, 0, 0), (0, 0, 0.3))
    images: list[float] = []
    tr.subscribe("/odom", "nav_msgs/msg/Odometry", lambda m: pub.publish(msg))
    tr.subscribe("/camera/image_raw", "sensor_msgs/msg/Image", lambda m: images.append(time.perf_counter()))
    time.sleep(seconds)
    tr.close()
    if len(images) > 1:
        print(json.dumps({"images": len(images), "image_hz": (len(images) - 1) / (images[-1] - images[0])}), flush=True)
    else:
        print(json.dumps({"images": len(images), "image_hz": 0.0}), flush=True)


def encode_step_costs(repeats: int = 300) -> tuple[float, float]:
    """Median ms to encode one Nav lockstep step's messages (/clock, /scan of 360 beams, 20 IMU
    samples, /joint_states, /tf, /odom): rosbags message objects serialized each time (the
    bridge's old path) against the preallocated CDR templates patched in place (its path now),
    interleaved in one loop so that both see the same machine load."""
    from simsuite.ros import messages as M
    from simsuite.ros.cdr import Outgoing
    from simsuite.sensors.lidar import LidarConfig

    rng = np.random.default_rng(0)
    cfg, ranges, imu = LidarConfig(), rng.uniform(0.2, 12, 360).astype(np.float32), rng.normal(size=(20, 6))
    pos, q, lin, ang, wheels = rng.normal(size=3), np.array([1.0, 0, 0, 0]), rng.normal(size=3), rng.normal(size=3), rng.normal(size=2)
    names = ["robot_wheel_left_joint", "robot_wheel_right_joint"]

    def old(t: float) -> None:
        for msg in (M.clock(t), M.laser_scan(t, "lidar", ranges, cfg, 0.1), *(M.imu(t, "imu", r) for r in imu),
                    M.joint_state(t, names, wheels, wheels), M.tf_message([M.transform(t, "odom", "base_link", pos, q)]),
                    M.odometry(t, "odom", "base_link", pos, q, lin, ang)):
            M.serialize(msg)

    outs = dict(clock=Outgoing(M.clock(0.0), {}, "clock"), scan=Outgoing(M.laser_scan(0.0, "lidar", ranges, cfg, 0.1), {"r": "ranges"}),
                imu=Outgoing(M.imu(0.0, "imu", imu[0]), {"a": "linear_acceleration", "w": "angular_velocity"}),
                joints=Outgoing(M.joint_state(0.0, names, wheels, wheels), {"q": "position", "qd": "velocity"}),
                tf=Outgoing(M.tf_message([M.transform(0.0, "odom", "base_link", pos, q)]),
                            {"p": "transforms.0.transform.translation", "q": "transforms.0.transform.rotation"}, "transforms.0.header.stamp"),
                odom=Outgoing(M.odometry(0.0, "odom", "base_link", pos, q, lin, ang),
                              {"p": "pose.pose.position", "q": "pose.pose.orientation", "v": "twist.twist.linear", "w": "twist.twist.angular"}))
    xyzw = (q[1], q[2], q[3], q[0])

    def new(t: float) -> None:
        outs["clock"].fill(t)
        outs["scan"].fill(t, r=ranges)
        for r in imu:
            outs["imu"].fill(t, a=r[:3], w=r[3:])
        outs["joints"].fill(t, q=wheels, qd=wheels)
        outs["tf"].fill(t, p=pos, q=xyzw)
        outs["odom"].fill(t, p=pos, q=xyzw, v=lin, w=ang)

    times: dict[str, list[float]] = {"old": [], "new": []}
    for k in range(repeats):
        for name, fn in (("old", old), ("new", new)):
            t0 = time.perf_counter()
            fn(0.1 * k)
            times[name].append(time.perf_counter() - t0)
    return ms(times["old"])[0], ms(times["new"])[0]


def inside(steps: int, out: str) -> None:
    import gymnasium

    import simsuite  # noqa: F401
    from simsuite.ros import messages as M
    from simsuite.ros.bridge import SimBridge
    from simsuite.ros.netns import in_private_netns, rclpy_env
    from simsuite.ros.transport import dds_type
    from simsuite.sensors.lidar import LidarConfig

    assert in_private_netns(), "DDS outside a private network namespace"
    results: dict = {}
    obs = ("state", "lidar", "imu")

    # baseline: the same env, no bridge
    env = gymnasium.make("SimSuite/Nav-v0", obs=obs)
    env.reset(seed=6)
    a = np.array([0.1 / 0.22, 0.3 / 2.84], np.float32)
    for _ in range(20):
        env.step(a)
    bare = []
    for _ in range(steps):
        t = time.perf_counter()
        *_, term, trunc, _ = env.step(a)
        bare.append(time.perf_counter() - t)
        if term or trunc:
            env.reset()
    env.close()
    results["bare"] = ms(bare)

    # lockstep against a Cyclone controller in another process
    peer = subprocess.Popen([sys.executable, __file__, "--responder", "40"], stdout=subprocess.PIPE, text=True)
    bridge = SimBridge("SimSuite/Nav-v0", lockstep=True, timeout_s=5.0, seed=6, env_kwargs={"obs": obs})
    bridge.start(wait_for_peer_s=30)
    for _ in range(20 + steps):
        bridge.step()
    s = bridge.stats
    results["bridge_own"] = ms(s.bridge_s[20:])
    results["bridge_own_cpu"] = ms(s.bridge_cpu_s[20:])
    results["env_in_bridge"] = ms(s.env_step_s[20:])
    results["cycle_minus_env_dds"] = ms(np.asarray(s.cycle_s[20:]) - np.asarray(s.env_step_s[20:-1]))
    results["timeouts_dds"] = s.timeouts
    bridge.close()
    peer.kill()
    peer.wait()

    # the same with the real rclpy controller (if its venv is there)
    peer_py = Path(os.environ.get("SIMSUITE_ROSPEER_PY") or ROOT / ".venv-rospeer/bin/python")
    if peer_py.exists():
        n = min(steps, 300)
        ctl = subprocess.Popen([str(peer_py), str(ROOT / "tests/ros_peers/nav_controller.py"), "--steps", str(n), "--out", "/tmp/bench_ros_peer.json"],
                               env=rclpy_env(), stdout=subprocess.DEVNULL)
        bridge = SimBridge("SimSuite/Nav-v0", lockstep=True, timeout_s=5.0, seed=6, env_kwargs={"obs": obs})
        bridge.start(wait_for_peer_s=60)
        for _ in range(n):
            bridge.step()
        s = bridge.stats
        results["cycle_minus_env_rclpy"] = ms(np.asarray(s.cycle_s[10:]) - np.asarray(s.env_step_s[10:-1]))
        results["bridge_own_rclpy"] = ms(s.bridge_s[10:])
        bridge.close()
        ctl.wait(60)

    # camera: 640x480 RGB + depth, free-running as fast as possible, a subscriber counting images
    peer = subprocess.Popen([sys.executable, __file__, "--responder", "25"], stdout=subprocess.PIPE, text=True)
    bridge = SimBridge("SimSuite/Nav-v0", lockstep=False, real_time_factor=0, seed=6, camera=(640, 480))
    bridge.start(wait_for_peer_s=30)
    time.sleep(1.0)  # the image subscription is matched a moment after /odom's
    t0, n0 = time.perf_counter(), bridge.stats.steps
    bridge.spin(duration_s=8.0)
    frames = bridge.stats.steps - n0
    results["camera_publish_hz"] = round(frames / (time.perf_counter() - t0), 1)
    results["camera_env_step_ms"] = ms(bridge.stats.env_step_s[n0:])
    results["camera_bridge_ms"] = ms(bridge.stats.bridge_s[n0:])
    results["camera_bridge_cpu_ms"] = ms(bridge.stats.bridge_cpu_s[n0:])
    rgb = bridge.obs["rgb"].copy()
    depth = bridge.obs["depth"].copy()
    bridge.close()
    out_line = peer.communicate(timeout=60)[0].strip().splitlines()
    results["camera_received"] = json.loads(out_line[-1]) if out_line else {}

    # serialization of one 640x480 frame
    def timed(fn, n=20):
        fn()
        ts = []
        for _ in range(n):
            t = time.perf_counter()
            fn()
            ts.append(time.perf_counter() - t)
        return ms(ts)[0]

    img = M.image(0.0, "camera_optical", rgb)
    results["ser_rgb_rosbags_ms"] = timed(lambda: M.serialize(M.image(0.0, "camera_optical", rgb)))
    results["ser_depth_rosbags_ms"] = timed(lambda: M.serialize(M.image(0.0, "camera_optical", depth)))
    cls = dds_type("sensor_msgs/msg/Image")
    cdr = M.serialize(img)

    def cyclone_types():  # the same frame through Cyclone's own Python types (the generated IDL struct)
        header = dds_type("std_msgs/msg/Header")(stamp=dds_type("builtin_interfaces/msg/Time")(sec=0, nanosec=0), frame_id="camera_optical")
        cls(header=header, height=480, width=640, encoding="rgb8", is_bigendian=0, step=1920, data=rgb.reshape(-1).tolist()).serialize()

    results["ser_rgb_cyclone_types_ms"] = timed(cyclone_types, n=5)
    results["deser_rgb_rosbags_ms"] = timed(lambda: M.deserialize(cdr, "sensor_msgs/msg/Image"))
    scan = M.laser_scan(0.0, "lidar", np.ones(360, np.float32), LidarConfig(), 0.1)
    results["ser_scan_rosbags_ms"] = timed(lambda: M.serialize(scan), n=200)
    results["encode_step_rosbags_ms"], results["encode_step_templates_ms"] = encode_step_costs()
    Path(out).write_text(json.dumps(results))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=500)
    parser.add_argument("--inside", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--responder", type=float, default=None, help=argparse.SUPPRESS)
    args, _ = parser.parse_known_args()
    if args.responder is not None:
        return responder(args.responder)
    if args.inside is not None:
        return inside(args.steps, args.inside)
    from benchmark import report
    from simsuite.ros.netns import netns_argv, netns_available

    if not netns_available():
        sys.exit("bench_ros needs root with unshare and ip (a private network namespace keeps DDS on loopback)")
    out = Path("runs/bench/bench_ros.raw.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(netns_argv([sys.executable, __file__, "--steps", str(args.steps), "--inside", str(out)]), check=True, cwd=ROOT)
    r = json.loads(out.read_text())
    rows = [
        ["bare env.step (baseline)", *r["bare"], ""],
        ["env.step inside the bridge", *r["env_in_bridge"], ""],
        ["bridge's own work per lockstep step (wall)", *r["bridge_own"], f"{r['bridge_own'][0] / r['bare'][0]:.1%} of a bare step"],
        ["bridge's own work per lockstep step (CPU)", *r["bridge_own_cpu"], "this thread's CPU time: no waits for a busy core"],
        ["lockstep cycle - env.step, Cyclone controller", *r["cycle_minus_env_dds"], f"timeouts {r['timeouts_dds']}"],
    ]
    if "cycle_minus_env_rclpy" in r:
        rows.append(["lockstep cycle - env.step, rclpy controller", *r["cycle_minus_env_rclpy"], "round trip through rclpy"])
    rows += [
        ["camera 640x480 rgb+depth: env.step (renders)", *r["camera_env_step_ms"], ""],
        ["camera 640x480: bridge's own work per step (wall)", *r["camera_bridge_ms"], ""],
        ["camera 640x480: bridge's own work per step (CPU)", *r["camera_bridge_cpu_ms"], ""],
        ["camera 640x480: published Hz", r["camera_publish_hz"], "", f"received {r['camera_received'].get('image_hz', 0):.1f} Hz"],
        ["serialize 640x480 rgb8 (rosbags)", r["ser_rgb_rosbags_ms"], "", "median"],
        ["serialize 640x480 rgb8 (Cyclone Python types)", r["ser_rgb_cyclone_types_ms"], "", "median"],
        ["serialize 640x480 32FC1 depth (rosbags)", r["ser_depth_rosbags_ms"], "", "median"],
        ["deserialize 640x480 rgb8 (rosbags)", r["deser_rgb_rosbags_ms"], "", "median"],
        ["serialize LaserScan 360 (rosbags)", r["ser_scan_rosbags_ms"], "", "median"],
        ["encode one Nav step's 25 messages: rosbags objects (old path)", r["encode_step_rosbags_ms"], "", "median, same loop"],
        ["encode one Nav step's 25 messages: preallocated templates", r["encode_step_templates_ms"], "",
         f"{r['encode_step_rosbags_ms'] / r['encode_step_templates_ms']:.0f}x less"],
    ]
    report("bench_ros", ["what", "median ms (or Hz)", "p95 ms", "note"], rows, {"raw": r})


if __name__ == "__main__":
    main()
