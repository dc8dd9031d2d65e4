"""LIDAR and IMU on both backends: exact when noise is off, the configured statistics when
it is on, seeded, and sampled at their own rates with their latency (issue 4, "Show it")."""

from __future__ import annotations

import math

import numpy as np
import pytest

from simsuite.scene import Body, Geom, Inertial, Joint, Scene, Site
from simsuite.sensors import (
    ACCEL,
    GYRO,
    PRESETS,
    Imu,
    ImuConfig,
    ImuNoise,
    Lidar,
    LidarConfig,
    Mount,
    Sensor,
    SensorError,
    SensorSuite,
    allan_deviation,
    make_sensor,
)
from simsuite.sensors.imu import GM_ALLAN_PEAK, gm_allan_deviation
from simsuite.transforms import quat_from_euler, quat_to_mat

G = 9.81
# The room: inner walls at x = ±LX, y = ±LY, floor z = 0, ceiling z = H. Walls overlap at
# the corners and reach into floor and ceiling, so no box edge is exposed inside (PyBullet
# rounds box edges by its collision margin).
LX, LY, H, T = 3.0, 2.0, 2.5, 0.1
ROBOT_POS, ROBOT_QUAT = (0.5, -0.3, 0.8), quat_from_euler(0.1, -0.2, 0.7)
MOUNT_POS, MOUNT_QUAT = (0.1, -0.05, 0.3), quat_from_euler(0.3, -0.2, 0.5)


def room_scene(robot_velocity_free: bool = True) -> Scene:
    scene = Scene(name="room", gravity=(0.0, 0.0, 0.0))
    scene.add(Body("floor", geoms=[Geom("floor_plane", "plane", (0.0, 0.0))], semantic_class="floor"))
    walls = [
        ("wall_px", (LX + T, 0, H / 2), (T, LY + 2 * T, H / 2 + 2 * T)),
        ("wall_nx", (-LX - T, 0, H / 2), (T, LY + 2 * T, H / 2 + 2 * T)),
        ("wall_py", (0, LY + T, H / 2), (LX + 2 * T, T, H / 2 + 2 * T)),
        ("wall_ny", (0, -LY - T, H / 2), (LX + 2 * T, T, H / 2 + 2 * T)),
        ("ceiling", (0, 0, H + T), (LX + 2 * T, LY + 2 * T, T)),
    ]
    for name, pos, half in walls:
        scene.add(Body(name, pos=pos, geoms=[Geom(f"{name}_box", "box", half)], semantic_class="wall"))
    # a free robot with its centre of mass off its frame origin and no colliding geom
    scene.add(
        Body(
            "robot",
            pos=ROBOT_POS,
            quat=ROBOT_QUAT,
            joint=Joint("robot_free", "free"),
            inertial=Inertial(2.0, (0.02, 0.03, 0.04), pos=(0.05, 0.02, -0.03)),
            geoms=[Geom("robot_shell", "box", (0.1, 0.1, 0.1), collide=False)],
            sites=[Site("lidar_site", pos=(0.0, 0.1, 0.2), quat=quat_from_euler(0.0, 0.0, 0.4))],
            semantic_class="robot",
        )
    )
    return scene


def room_distance(origin: np.ndarray, dirs: np.ndarray) -> np.ndarray:
    """Distance from a point inside the room to its boundary along each unit direction."""
    t = np.full(len(dirs), np.inf)
    for axis, (lo, hi) in enumerate([(-LX, LX), (-LY, LY), (0.0, H)]):
        u = dirs[:, axis]
        with np.errstate(divide="ignore", invalid="ignore"):
            t_axis = np.where(u > 0, (hi - origin[axis]) / u, np.where(u < 0, (lo - origin[axis]) / u, np.inf))
        t = np.minimum(t, t_axis)
    return t


def sensor_world_pose(backend, body: str, pos, quat) -> tuple[np.ndarray, np.ndarray]:
    """The expected sensor pose, composed here independently of the sensor code."""
    bp, bq = backend.body_pose(body)
    rb = quat_to_mat(bq)
    return bp + rb @ np.asarray(pos, float), rb @ quat_to_mat(quat)


@pytest.fixture
def room(make):
    return make(room_scene())


# ---------------------------------------------------------------------------
# LIDAR geometry: exact with noise off


@pytest.mark.parametrize(
    "spec",
    [
        {"preset": "rplidar_a1"},
        {"preset": "vlp16", "horizontal_samples": 1024},
        {"type": "lidar", "elevations_deg": (-60.0, -20.0, 0.0, 5.0, 45.0), "horizontal_samples": 90, "horizontal_fov_deg": 270.0},
    ],
    ids=["2d_rplidar", "3d_vlp16", "explicit_elevations_partial_fov"],
)
@pytest.mark.parametrize("mounted", ["identity", "rotated_offset"])
def test_lidar_ranges_equal_the_room_within_1mm(room, spec, mounted):
    pos, quat = ((0.0, 0.0, 0.0), (1.0, 0.0, 0.0, 0.0)) if mounted == "identity" else (MOUNT_POS, MOUNT_QUAT)
    lidar = make_sensor({**spec, "noise": False, "range_min_m": 0.0, "body": "robot", "pos": pos, "quat": quat})
    lidar.reset(room, np.random.default_rng(0))
    ranges = lidar.sample(room, 0.0)
    assert ranges.shape == lidar.config.shape and ranges.dtype == np.float32
    assert lidar.observation_space.contains(ranges)
    origin, rot = sensor_world_pose(room, "robot", pos, quat)
    expected = room_distance(origin, lidar.directions_sensor @ rot.T)
    err = np.abs(ranges.reshape(-1) - expected)
    assert err.max() < 1e-3, f"max error {err.max():.2e} m"


def test_lidar_on_a_site_uses_the_site_frame(room):
    lidar = make_sensor({"preset": "vlp16", "horizontal_samples": 256, "noise": False, "site": "lidar_site", "pos": (0.02, 0.0, 0.05)})
    lidar.reset(room, np.random.default_rng(0))
    ranges = lidar.sample(room, 0.0)
    site = room.scene.body("robot").sites[0]
    rs = quat_to_mat(site.quat)
    origin, rot = sensor_world_pose(room, "robot", np.asarray(site.pos) + rs @ [0.02, 0.0, 0.05], quat_from_euler(0.0, 0.0, 0.4))
    expected = room_distance(origin, lidar.directions_sensor @ rot.T)
    assert np.abs(ranges.reshape(-1) - expected).max() < 1e-3


def test_32x2048_scan_returns_65536_correct_ranges(room):
    lidar = make_sensor({"type": "lidar", "channels": 32, "vertical_fov_deg": (-40.0, 40.0), "horizontal_samples": 2048,
                         "range_min_m": 0.0, "range_max_m": 50.0, "noise": False, "body": "robot", "pos": MOUNT_POS, "quat": MOUNT_QUAT})
    lidar.reset(room, np.random.default_rng(0))
    ranges = lidar.sample(room, 0.0)
    assert ranges.shape == (32, 2048) and ranges.size == 65_536
    origin, rot = sensor_world_pose(room, "robot", MOUNT_POS, MOUNT_QUAT)
    expected = room_distance(origin, lidar.directions_sensor @ rot.T)
    assert np.isfinite(ranges).all()
    assert np.abs(ranges.reshape(-1) - expected).max() < 1e-3


def test_point_cloud_and_labels(room):
    lidar = make_sensor({"preset": "vlp16", "horizontal_samples": 512, "noise": False, "body": "robot", "pos": MOUNT_POS, "quat": MOUNT_QUAT})
    lidar.reset(room, np.random.default_rng(0))
    lidar.sample(room, 0.0)
    scan = lidar.last_scan
    pts = scan.points()
    assert pts.shape == (int(scan.valid.sum()), 3) and pts.dtype == np.float32
    origin, rot = sensor_world_pose(room, "robot", MOUNT_POS, MOUNT_QUAT)
    world = pts @ rot.T + origin
    # every point lies on a wall, the floor or the ceiling
    on_boundary = np.min(np.abs(np.stack([np.abs(world[:, 0]) - LX, np.abs(world[:, 1]) - LY, world[:, 2], world[:, 2] - H])), axis=0)
    assert on_boundary.max() < 1e-3
    # labels from the index table agree with the geometry: floor hits are at z = 0
    labels, names = scan.labels, scan.hit_names()
    assert labels.shape == names.shape == lidar.config.shape
    floor_id = lidar.classes.index("floor")
    z = (lidar.directions_sensor @ rot.T * scan.distance_m[:, None] + origin)[:, 2]
    is_floor = labels.reshape(-1) == floor_id
    assert is_floor.any() and np.abs(z[is_floor]).max() < 1e-3
    assert set(names.reshape(-1)[~is_floor]) <= {"wall_px", "wall_nx", "wall_py", "wall_ny", "ceiling"}
    full = scan.points(valid_only=False)
    assert full.shape == (lidar.config.channels * 512, 3)


@pytest.mark.parametrize("mode,value", [("max", 2.0), ("inf", math.inf), ("zero", 0.0)])
def test_no_return_value_and_min_range(room, mode, value):
    lidar = make_sensor({"preset": "rplidar_a1", "range_max_m": 2.0, "range_min_m": 0.5, "noise": False, "no_return": mode, "body": "robot"})
    lidar.reset(room, np.random.default_rng(0))
    ranges = lidar.sample(room, 0.0)
    origin, rot = sensor_world_pose(room, "robot", (0, 0, 0), (1, 0, 0, 0))
    truth = room_distance(origin, lidar.directions_sensor @ rot.T)
    beyond, inside = truth > 2.0, (truth >= 0.5) & (truth <= 2.0)
    assert beyond.any() and inside.any()
    assert np.all(ranges[beyond] == np.float32(value))
    assert np.abs(ranges[inside] - truth[inside]).max() < 1e-3
    assert lidar.observation_space.contains(ranges)
    # a hit closer than range_min reads the no-return value as well
    close = make_sensor({"preset": "rplidar_a1", "range_min_m": 5.0, "noise": False, "no_return": mode, "body": "robot"})
    close.reset(room, np.random.default_rng(0))
    short = close.sample(room, 0.0)
    assert np.all(short[truth < 5.0] == np.float32(value if mode != "max" else 12.0))


@pytest.mark.parametrize("mode,value", [("max", 2.0), ("inf", math.inf), ("zero", 0.0)])
def test_no_return_value_with_noise_and_dropout(room, mode, value):
    """Misses, hits beyond range and dropped beams read the no-return value with noise on too
    (each engine marks a miss its own way; a dropped beam's noise is NaN)."""
    lidar = make_sensor({"preset": "rplidar_a1", "range_max_m": 2.0, "range_min_m": 0.5, "range_noise_std_m": 0.01, "range_noise_rel": 0.01,
                         "dropout_prob": 0.2, "no_return": mode, "body": "robot"})
    lidar.reset(room, np.random.default_rng(0))
    origin, rot = sensor_world_pose(room, "robot", (0, 0, 0), (1, 0, 0, 0))
    truth = room_distance(origin, lidar.directions_sensor @ rot.T)
    for _ in range(3):
        ranges = lidar.sample(room, 0.0)
        dropped = np.zeros(len(ranges), bool)
        dropped[lidar.last_scan.dropped] = True
        beyond = truth > 2.0
        assert dropped.any() and (beyond & ~dropped).any()
        assert np.all(ranges[dropped | beyond] == np.float32(value))
        inside = ~dropped & (truth >= 0.6) & (truth <= 1.9)
        assert inside.any() and np.abs(ranges[inside] - truth[inside]).max() < 0.1
        assert np.array_equal(np.isinf(lidar.last_scan.distance_m), beyond)
        assert lidar.observation_space.contains(ranges)


# ---------------------------------------------------------------------------
# LIDAR noise


def test_lidar_range_noise_has_the_configured_std_and_dropout_rate(room):
    sigma, rel, p = 0.02, 0.01, 0.05
    lidar = make_sensor({"preset": "rplidar_a1", "range_noise_std_m": sigma, "range_noise_rel": rel, "dropout_prob": p, "body": "robot"})
    lidar.reset(room, np.random.default_rng(3))
    origin, rot = sensor_world_pose(room, "robot", (0, 0, 0), (1, 0, 0, 0))
    truth = room_distance(origin, lidar.directions_sensor @ rot.T)
    z, dropped = [], 0
    for _ in range(40):
        r = lidar.sample(room, 0.0).astype(float)
        keep = np.ones(len(r), bool)
        keep[lidar.last_scan.dropped] = False
        dropped += (~keep).sum()
        assert np.all(r[~keep] == lidar.config.range_max_m)
        z.append((r[keep] - truth[keep]) / (sigma + rel * truth[keep]))  # normalized error
    z = np.concatenate(z)
    assert abs(z.std() - 1.0) < 0.05, f"normalized range error std {z.std():.3f}"
    assert abs(z.mean()) < 0.05
    n = 40 * len(truth)
    assert abs(dropped / n - p) < 4 * math.sqrt(p * (1 - p) / n)


def test_lidar_noise_is_seeded(room):
    def scans(seed):
        lidar = make_sensor({"preset": "vlp16", "horizontal_samples": 128, "dropout_prob": 0.1, "body": "robot"})
        lidar.reset(room, np.random.default_rng(seed))
        return np.stack([lidar.sample(room, 0.0) for _ in range(3)])

    a, b, c = scans(1), scans(1), scans(2)
    assert np.array_equal(a, b)
    assert not np.array_equal(a, c)
    assert not np.array_equal(a[0], a[1])  # fresh noise every scan


# ---------------------------------------------------------------------------
# IMU truth


def imu_scene() -> Scene:
    scene = Scene(name="imu", timestep_s=0.002)
    scene.add(Body("floor", geoms=[Geom("floor_plane", "plane", (0.0, 0.0))], semantic_class="floor"))
    scene.add(Body("crate", pos=(0.0, 0.0, 0.1), joint=Joint("crate_free", "free"), geoms=[Geom("crate_box", "box", (0.1, 0.1, 0.1))]))
    scene.add(Body("bracket", pos=(1.0, 1.0, 1.0), quat=quat_from_euler(math.pi / 2, 0.0, 0.0)))  # welded, on its side
    scene.add(
        Body(
            "turntable",
            pos=(2.0, 0.0, 0.5),
            joint=Joint("spin", "hinge", axis=(0.0, 0.0, 1.0)),
            geoms=[Geom("turntable_disc", "cylinder", (0.3, 0.05))],
        )
    )
    scene.add(Body("ball", pos=(-2.0, 0.0, 5.0), joint=Joint("ball_free", "free"), geoms=[Geom("ball_geom", "sphere", (0.05,))]))
    return scene


def exact_imu(name: str, body: str, **extra) -> Imu:
    return make_sensor({"type": "imu", "name": name, "body": body, "rate_hz": 100.0, "noise": False, **extra})


def test_imu_at_rest_in_free_fall_and_spinning(make):
    backend = make(imu_scene())
    omega, r = 3.0, 0.2
    suite = SensorSuite(
        [
            exact_imu("rest", "crate"),
            exact_imu("side", "bracket"),
            exact_imu("spin", "turntable"),
            exact_imu("spin_offset", "turntable", pos=(r, 0.0, 0.0)),
            exact_imu("fall", "ball"),
        ]
    )
    backend.set_joint_position("spin", 0.0, velocity=omega)
    suite.reset(backend, np.random.default_rng(0), backend.time_s)
    for _ in range(25):  # 0.5 s: the crate settles on the floor, the ball falls 1.2 m
        suite.advance(backend, 10, 0.002)
    obs = suite.observations()
    np.testing.assert_allclose(obs["rest"], [0, 0, G, 0, 0, 0], atol=2e-3)
    np.testing.assert_allclose(obs["side"], [0, G, 0, 0, 0, 0], atol=1e-5)  # rolled 90°: gravity along +y
    np.testing.assert_allclose(obs["spin"], [0, 0, G, 0, 0, omega], atol=1e-4)
    # off the axis: centripetal ω²r towards the axis (-x of the sensor); the finite difference
    # over Δt = 10 ms turns it by ωΔt/2, hence the small tangential part
    np.testing.assert_allclose(obs["spin_offset"][ACCEL], [-omega**2 * r, 0, G], atol=0.03)
    np.testing.assert_allclose(obs["spin_offset"][GYRO], [0, 0, omega], atol=1e-4)
    np.testing.assert_allclose(obs["fall"], np.zeros(6), atol=1e-6)


def test_imu_saturates_at_its_range(make):
    backend = make(imu_scene())
    imu = exact_imu("imu", "turntable", gyro_range=1.0, accel_range=5.0)
    backend.set_joint_position("spin", 0.0, velocity=3.0)
    imu.reset(backend, np.random.default_rng(0))
    y = imu.sample(backend, 0.0)
    assert y[5] == np.float32(1.0) and y[2] == np.float32(5.0)
    assert imu.observation_space.contains(y)


# ---------------------------------------------------------------------------
# IMU noise


def test_allan_deviation_recovers_white_noise_and_bias_instability():
    """One hour of a static IMU at 200 Hz. White-noise densities are the BMI088's; the bias
    instabilities and correlation times are chosen so that the floor lies near 10 s, where an
    hour of data pins it to a few per cent (the BMI088's own 2 °/h floor lies near half an hour)."""
    preset = PRESETS["bmi088"][1]
    cfg = ImuConfig(
        rate_hz=200.0,
        accel_noise_density=preset["accel_noise_density"],
        accel_bias_instability=2e-3,
        accel_bias_corr_time_s=5.0,
        accel_random_walk=1e-6,
        gyro_noise_density=preset["gyro_noise_density"],
        gyro_bias_instability=3e-4,
        gyro_bias_corr_time_s=5.0,
        gyro_random_walk=1e-7,
    )
    imu = Imu("imu", cfg, Mount(body="x"))
    imu.reset_noise(np.random.default_rng(11))
    dt = 1.0 / cfg.rate_hz
    truth = np.tile([0.0, 0.0, G, 0.0, 0.0, 0.0], (3600 * 200, 1))
    y = imu.simulate(truth, dt).astype(float) - truth
    taus, adev = allan_deviation(y, dt, np.array([0.02, 0.05, 0.1, 0.3, 1.0, 3.0, 1.89 * 5.0, 20.0, 30.0]))
    for sl, density, b, corr in [(ACCEL, cfg.accel_noise_density, cfg.accel_bias_instability, 5.0), (GYRO, cfg.gyro_noise_density, cfg.gyro_bias_instability, 5.0)]:
        a = adev[:, sl].mean(axis=1)  # three independent axes
        short = (taus >= 0.02) & (taus <= 0.1)
        n_est = float(np.mean(a[short] * np.sqrt(taus[short])))
        assert abs(n_est / density - 1) < 0.10, f"white noise {n_est:.3e} vs {density:.3e}"
        # the floor: the Gauss-Markov peak (τ ≈ 1.89 T), white-noise line removed
        peak = np.argmin(np.abs(taus - 1.89 * corr))
        b_est = math.sqrt(a[peak] ** 2 - n_est**2 / taus[peak])
        assert abs(b_est / b - 1) < 0.10, f"bias instability {b_est:.3e} vs {b:.3e}"
        # and the whole curve up to 30 s (120 clusters an hour) follows the model
        model = np.sqrt(density**2 / taus + gm_allan_deviation(taus, b / GM_ALLAN_PEAK, corr) ** 2)
        assert np.max(np.abs(a / model - 1)) < 0.10


def test_vectorized_noise_equals_the_per_sample_path():
    cfg = ImuConfig(**{**PRESETS["bmi088"][1], "gyro_random_walk": 1e-4, "accel_random_walk": 1e-3})
    a = Imu("a", cfg, Mount(body="x"))
    b = Imu("b", cfg, Mount(body="x"))
    a.noise, b.noise = ImuNoise(cfg, np.random.default_rng(5)), ImuNoise(cfg, np.random.default_rng(5))
    stepped = np.stack([a.noise.step(0.001) for _ in range(700)])
    vectorized = b.noise.generate(700, 0.001)
    np.testing.assert_allclose(stepped, vectorized, rtol=1e-9, atol=1e-15)
    # and they continue identically
    np.testing.assert_allclose(a.noise.step(0.001), b.noise.step(0.001), rtol=1e-9, atol=1e-15)


def test_live_imu_noise_and_constant_biases(make):
    """Through a backend and the suite: white noise of the configured density, per-episode
    turn-on biases and scale factors drawn from the seed."""
    backend = make(imu_scene())
    density = 0.01
    spec = {"type": "imu", "body": "bracket", "rate_hz": 500.0, "gyro_noise_density": density, "accel_noise_density": density}
    suite = SensorSuite([make_sensor(spec)])
    suite.reset(backend, np.random.default_rng(4), 0.0)
    samples = []
    for _ in range(400):  # 4 s at 500 Hz: one sample per substep
        suite.advance(backend, 5, 0.002)
        samples.append(suite.observations()["imu"])
    y = np.array(samples, dtype=float) - [0, G, 0, 0, 0, 0]
    assert abs(y.std(axis=0).mean() / (density * math.sqrt(500.0)) - 1) < 0.10

    biased = {"type": "imu", "body": "bracket", "gyro_turn_on_bias": 0.05, "accel_scale_factor": 0.02, "rate_hz": None}
    readings = []
    for seed in (1, 1, 2):
        imu = make_sensor(biased)
        imu.reset(backend, np.random.default_rng(seed))
        readings.append(imu.sample(backend, 0.0))
    assert np.array_equal(readings[0], readings[1]) and not np.array_equal(readings[0], readings[2])
    assert np.all(readings[0][GYRO] != 0) and readings[0][1] != np.float32(G)


# ---------------------------------------------------------------------------
# Rates, latency, chunked stepping


class Counting:
    """A backend proxy that counts step() calls and their sizes."""

    def __init__(self, backend):
        self._backend, self.steps = backend, []

    def step(self, n: int = 1, *, keep_forces: bool = False) -> None:
        self.steps.append(n)
        self._backend.step(n, keep_forces=keep_forces)

    def __getattr__(self, name):
        return getattr(self._backend, name)


class Clock(Sensor):
    """Reads the simulated time: shows exactly when a sensor was sampled."""

    def __init__(self, name, rate_hz=None, latency_s=0.0):
        self.name, self.rate_hz, self.latency_s = name, rate_hz, latency_s
        self.times: list[float] = []

    @property
    def observation_space(self):
        import gymnasium

        return gymnasium.spaces.Box(0.0, np.inf, (1,), np.float32)

    def reset(self, backend, rng):
        pass

    def sample(self, backend, t_s):
        assert abs(backend.time_s - t_s) < 1e-9  # sampled after stepping exactly to t_s
        self.times.append(t_s)
        return np.array([t_s])


def test_10hz_sensor_in_a_50hz_loop_updates_every_5th_step(make):
    backend = Counting(make(room_scene()))
    lidar = make_sensor({"preset": "rplidar_a1", "rate_hz": 10.0, "noise": False, "body": "robot"})
    suite = SensorSuite([lidar, Clock("clock")])
    backend.set_body_velocity("robot", (0.5, 0.0, 0.0))  # towards the +x wall
    suite.reset(backend, np.random.default_rng(0), backend.time_s)
    forward = lidar.config.horizontal_samples // 2  # beam along +x
    stamps, fronts = [], [float(suite.observations()["lidar"][forward])]
    for _ in range(20):
        suite.advance(backend, 10, 0.002)  # 50 Hz control, 500 Hz physics
        t, scan = suite.stamped("lidar")
        stamps.append(t)
        fronts.append(float(scan[forward]))
    assert backend.steps == [10] * 20  # due instants coincide with control steps: one call each
    changed = [k for k in range(1, 21) if fronts[k] != fronts[k - 1]]
    assert changed == [5, 10, 15, 20]
    np.testing.assert_allclose(stamps, np.repeat([0.0, 0.1, 0.2, 0.3, 0.4], [4, 5, 5, 5, 1]), atol=1e-9)
    origin, rot = sensor_world_pose(backend, "robot", (0, 0, 0), (1, 0, 0, 0))
    beam = lidar.directions_sensor[forward : forward + 1] @ rot.T
    moved = origin - [0.5 * 0.4, 0.0, 0.0]  # 0.5 m/s along x for 0.4 s
    assert abs(fronts[20] - room_distance(origin, beam)[0]) < 1e-3
    assert abs(fronts[0] - room_distance(moved, beam)[0]) < 1e-3
    np.testing.assert_allclose(suite.observations()["clock"], [0.4], atol=1e-9)


def test_latency_delays_readings_by_50ms(make):
    backend = make(room_scene())
    delayed = make_sensor({"preset": "rplidar_a1", "name": "late", "rate_hz": None, "latency_s": 0.05, "noise": False, "body": "robot"})
    prompt = make_sensor({"preset": "rplidar_a1", "name": "now", "rate_hz": None, "noise": False, "body": "robot"})
    suite = SensorSuite([delayed, prompt, Clock("clock", latency_s=0.05)])
    backend.set_body_velocity("robot", (0.5, 0.0, 0.0))
    suite.reset(backend, np.random.default_rng(0), 0.0)
    history = {0.0: suite.observations()["now"]}
    for k in range(1, 16):  # control steps of 10 ms
        suite.advance(backend, 5, 0.002)
        obs = suite.observations()
        history[round(k * 0.01, 6)] = obs["now"]
        t_late = suite.stamped("late")[0]
        expected_t = max(0.0, round(k * 0.01 - 0.05, 6))  # before 50 ms have passed: the first sample
        assert abs(t_late - expected_t) < 1e-9 and abs(obs["clock"][0] - expected_t) < 1e-9
        assert np.array_equal(obs["late"], history[expected_t])
    assert not np.array_equal(history[0.0], history[0.15])  # the robot did move


def test_imu_at_100hz_is_sampled_between_control_steps_and_forces_can_be_reapplied(make):
    backend = Counting(make(room_scene()))
    clock = Clock("clock100", rate_hz=100.0)
    odd = Clock("clock300", rate_hz=300.0)  # 3.33 ms period on a 2 ms grid
    suite = SensorSuite([clock, odd, Clock("per_step")])
    suite.reset(backend, np.random.default_rng(0), 0.0)
    for _ in range(5):
        suite.advance(backend, 10, 0.002)
    np.testing.assert_allclose(clock.times, np.arange(0.0, 0.1001, 0.01), atol=1e-9)
    # a 300 Hz sensor on a 500 Hz physics grid: sampled at the first boundary after each due instant
    due = np.arange(0.0, 0.1001, 1 / 300)
    np.testing.assert_allclose(odd.times, np.ceil(due / 0.002 - 1e-6) * 0.002, atol=1e-9)
    assert sum(backend.steps) == 50


def test_observations_are_seeded_through_the_suite(make):
    backend = make(room_scene())

    def run(seed):
        suite = SensorSuite([make_sensor("rplidar_a1", body="robot"), make_sensor("bmi088", body="robot")])
        backend.reset()
        suite.reset(backend, np.random.default_rng(seed), 0.0)
        out = []
        for _ in range(3):
            suite.advance(backend, 10, 0.002)
            out.append(np.concatenate([v.ravel() for v in suite.observations().values()]))
        return np.stack(out)

    a, b, c = run(7), run(7), run(8)
    assert np.array_equal(a, b) and not np.array_equal(a, c)


# ---------------------------------------------------------------------------
# Specs and errors


def test_make_sensor_presets_and_overrides():
    lidar = make_sensor({"preset": "vlp16", "horizontal_samples": 512, "body": "base", "pos": [0, 0, 0.3]})
    assert isinstance(lidar, Lidar) and lidar.config.channels == 16 and lidar.observation_space.shape == (16, 512)
    assert lidar.name == "lidar" and lidar.mount.pos == (0.0, 0.0, 0.3)
    imu = make_sensor("bmi088", body="base", name="imu0")
    assert isinstance(imu, Imu) and imu.rate_hz == 1000.0 and imu.name == "imu0"
    # the spec's own site replaces a default body
    assert make_sensor({"preset": "bmi088", "site": "imu_site"}, body="base").mount.site == "imu_site"
    hdl = make_sensor("hdl64", body="car")
    assert hdl.config.channels == 64 and hdl.observation_space.shape == (64, 2048)
    for name in PRESETS:
        make_sensor(name, body="base")


@pytest.mark.parametrize(
    "spec,match",
    [
        ("ouster_os9", "unknown sensor preset 'ouster_os9'; presets are"),
        ({"type": "radar", "body": "b"}, "'type' must be one of"),
        ({"preset": "vlp16", "chanels": 3, "body": "b"}, r"unknown lidar sensor field\(s\) \['chanels'\]; allowed:"),
        ({"preset": "vlp16"}, "needs a mount"),
        ({"preset": "vlp16", "type": "imu", "body": "b"}, "does not match preset"),
        ({"preset": "vlp16", "no_return": "nan", "body": "b"}, "'no_return' must be one of"),
        ({"preset": "vlp16", "dropout_prob": 1.5, "body": "b"}, "'dropout_prob'"),
        ({"preset": "bmi088", "gyro_noise_density": -1, "body": "b"}, "'gyro_noise_density'"),
        ({"preset": "bmi088", "rate_hz": 0, "body": "b"}, "rate_hz"),
        ({"preset": "bmi088", "body": "b", "site": "s"}, "exactly one of 'body' or 'site'"),
        ({"preset": "bmi088", "body": "b", "quat": (1, 1, 0, 0)}, "unit quaternion"),
    ],
)
def test_bad_specs_name_the_field(spec, match):
    with pytest.raises(ValueError, match=match):
        make_sensor(spec)


def test_unknown_mount_names_fail_at_reset(room):
    for spec, match in [({"body": "robt"}, "unknown body 'robt'"), ({"site": "nowhere"}, "unknown site 'nowhere'")]:
        sensor = make_sensor({"preset": "rplidar_a1", **spec})
        with pytest.raises(SensorError, match=match):
            sensor.reset(room, np.random.default_rng(0))
    with pytest.raises(SensorError, match="unique"):
        SensorSuite([make_sensor("bmi088", body="robot"), make_sensor("bmi088", body="robot")])


def test_config_geometry():
    cfg = LidarConfig(horizontal_samples=4)
    np.testing.assert_allclose(np.degrees(cfg.azimuths_rad()), [-180, -90, 0, 90])
    cfg = LidarConfig(horizontal_samples=3, horizontal_fov_deg=180.0, channels=3, vertical_fov_deg=(-10.0, 10.0))
    np.testing.assert_allclose(np.degrees(cfg.azimuths_rad()), [-90, 0, 90])
    np.testing.assert_allclose(np.degrees(cfg.elevations_rad()), [-10, 0, 10])
    np.testing.assert_allclose(np.linalg.norm(cfg.directions(), axis=1), 1.0)
    assert LidarConfig(elevations_deg=(5.0, -5.0)).channels == 2


def test_chunked_stepping_keeps_forces_for_the_whole_control_step(make):
    """A rated sensor that splits the control step must not cut the task's push short."""
    scene = Scene(name="puck", gravity=(0.0, 0.0, 0.0))
    scene.add(Body("puck", joint=Joint("puck_free", "free"), geoms=[Geom("puck_ball", "sphere", (0.1,))], inertial=Inertial(2.0, (0.01, 0.01, 0.01))))
    backend = make(scene)
    suite = SensorSuite([make_sensor({"type": "imu", "body": "puck", "rate_hz": 100.0, "noise": False})])
    suite.reset(backend, np.random.default_rng(0), 0.0)
    for _ in range(5):  # 5 control steps of 20 ms, each split in two chunks by the 100 Hz IMU
        backend.apply_force("puck", (2.0, 0.0, 0.0))  # 2 N on 2 kg
        suite.advance(backend, 10, 0.002)
    np.testing.assert_allclose(backend.body_velocity("puck")[0][0], 1.0 * 0.1, rtol=1e-6)  # a = 1 m/s² for 0.1 s
    np.testing.assert_allclose(suite.observations()["imu"][ACCEL], [1.0, 0, 0], atol=1e-5)
    backend.step(10)  # and the forces end with the control step
    np.testing.assert_allclose(backend.body_velocity("puck")[0][0], 0.1, rtol=1e-6)


def test_buffered_readings_are_read_only(room):
    suite = SensorSuite([make_sensor("rplidar_a1", body="robot")])
    suite.reset(room, np.random.default_rng(0), 0.0)
    with pytest.raises(ValueError):
        suite.observations()["lidar"][0] = 1.0
