"""The optional C kernels (simsuite/_native.c) give exactly what their numpy twins give, on
the real engines, and reject wrong buffers with a clear error instead of reading past them."""

from __future__ import annotations

import math
import os

import gymnasium
import numpy as np
import pytest

from simsuite import native
from simsuite.backends import make_backend
from simsuite.sensors import make_sensor
from test_backends import ray_scene
from test_sensors import room_scene

kernels = native.kernels
needs_kernels = pytest.mark.skipif(kernels is None, reason="simsuite._native is not built or SIMSUITE_NATIVE=0")


@pytest.mark.skipif(os.environ.get("SIMSUITE_NATIVE") == "0", reason="turned off by SIMSUITE_NATIVE=0")
def test_kernels_are_built():
    assert kernels is not None, "simsuite._native did not build: `pip install -e .` needs a C compiler and Python's headers"


def _raw_distances(rng: np.random.Generator, n: int, rmin: float, rmax: float) -> np.ndarray:
    """Engine distances of every kind: misses (-1, NaN), too close, in range, exactly on a
    limit, beyond range."""
    raw = rng.uniform(-0.5 * rmin, 1.2 * rmax, n)
    raw[rng.random(n) < 0.05] = -1.0
    raw[rng.random(n) < 0.05] = np.nan
    raw[:4] = (rmin, rmax, np.nextafter(rmax, math.inf), np.nextafter(rmin, 0.0))
    return raw


@needs_kernels
@pytest.mark.parametrize("no_return", ["max", "inf", "zero"])
@pytest.mark.parametrize("terms", ["exact", "std", "rel", "std+rel", "dropout", "std+rel+dropout"])
def test_lidar_readings_equal_the_numpy_path(no_return, terms):
    rng = np.random.default_rng(0)
    lidar = make_sensor({"type": "lidar", "range_min_m": 0.2, "range_max_m": 8.0, "no_return": no_return, "body": "robot"})
    n = 5000
    raw = _raw_distances(rng, n, 0.2, 8.0)
    z = rng.standard_normal(n, dtype=np.float32)
    gain = np.maximum(1 + np.float32(0.05) * z, 0, dtype=np.float32) if "rel" in terms else None
    shift = z * np.float32(0.3) if "std" in terms else None
    drop_row = None
    if "dropout" in terms:  # as Lidar draws it: NaN in the first noise row
        if gain is None and shift is None:
            shift = np.zeros(n, np.float32)
        drop_row = gain if gain is not None else shift
        drop_row[rng.random(n) < 0.1] = np.nan
    expect = lidar._readings(raw, gain, shift, drop_row)
    got = np.empty(n, np.float32)
    kernels.lidar_readings(raw, gain, shift, got, lidar._range_min_m, lidar._range_max_m, lidar._no_return)
    assert np.array_equal(got, expect)


def _scans(backend_name: str, spec: dict, scans: int) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Readings, true distances and hit bodies of a few noisy scans from a turning robot."""
    backend = make_backend(backend_name)
    backend.compile(room_scene())
    lidar = make_sensor({**spec, "body": "robot", "pos": (0.1, -0.05, 0.3)})
    lidar.reset(backend, np.random.default_rng(7))
    out = []
    for k in range(scans):
        backend.set_body_velocity("robot", (0.3, 0.1, 0.0), (0.0, 0.0, 2.0))
        backend.step(5)
        r = lidar.sample(backend, 0.01 * k)
        out.append((r.copy(), lidar.last_scan.distance_m.copy(), lidar.last_scan.body_index.copy()))
    backend.close()
    return out


@needs_kernels
@pytest.mark.parametrize("backend_name", ["mujoco", "pybullet"])
@pytest.mark.parametrize("spec", [{"preset": "rplidar_a1"}, {"preset": "vlp16", "horizontal_samples": 256, "no_return": "inf"}])
def test_scans_are_the_same_with_and_without_the_kernels(backend_name, spec, monkeypatch):
    fast = _scans(backend_name, spec, 6)
    monkeypatch.setattr(native, "kernels", None)
    slow = _scans(backend_name, spec, 6)
    for (r1, d1, b1), (r2, d2, b2) in zip(fast, slow):
        assert np.array_equal(r1, r2)
        np.testing.assert_allclose(d1, d2, rtol=0, atol=1e-12)
        assert np.array_equal(b1, b2)


def _pybullet_rays(scene, origins, directions, max_range_m):
    backend = make_backend("pybullet")
    backend.compile(scene)
    hits = backend.cast_rays(origins, directions, max_range_m=max_range_m, unit_directions=True)
    result = hits.raw_distance_m.copy(), hits.distance_m.copy(), hits.body_index.copy()
    backend.close()
    return result


@needs_kernels
@pytest.mark.parametrize(
    "world,origin",
    [
        ("room", (0.5, -0.3, 0.8)),  # boxes and a plane: the exact box path
        ("room", (3.05, 0.0, 1.0)),  # from inside a wall: Bullet's distance stands where no entry is found
        ("room", (0.0, 0.0, 3.5)),  # above the ceiling: half the rays miss
        ("rays", (0.2, 0.1, 0.9)),  # spheres and capsules too: the general path
    ],
)
def test_pybullet_rays_are_the_same_with_and_without_the_kernels(world, origin, monkeypatch):
    scene = room_scene if world == "room" else ray_scene
    directions = np.random.default_rng(3).normal(size=(3000, 3))
    directions /= np.linalg.norm(directions, axis=1, keepdims=True)
    fast = _pybullet_rays(scene(), np.array(origin), directions, 6.0)
    monkeypatch.setattr(native, "kernels", None)
    slow = _pybullet_rays(scene(), np.array(origin), directions, 6.0)
    np.testing.assert_allclose(fast[0], slow[0], rtol=0, atol=1e-12)
    assert np.array_equal(np.isnan(fast[0]), np.isnan(slow[0]))
    assert np.array_equal(fast[1], slow[1]) or np.allclose(fast[1], slow[1], rtol=0, atol=1e-12)
    assert np.array_equal(fast[2], slow[2])
    assert (fast[2] >= 0).any()


@needs_kernels
def test_wrong_buffers_are_refused():
    n = 8
    raw, out32 = np.zeros(n), np.empty(n, np.float32)
    with pytest.raises(TypeError, match="out must hold float32"):
        kernels.lidar_readings(raw, None, None, np.empty(n), 0.1, 5.0, 5.0)
    with pytest.raises(ValueError, match="gain must have 8 items"):
        kernels.lidar_readings(raw, np.ones(4, np.float32), None, out32, 0.1, 5.0, 5.0)
    with pytest.raises(TypeError, match="C-contiguous"):
        kernels.lidar_readings(np.zeros(2 * n)[::2], None, None, out32, 0.1, 5.0, 5.0)
    frames, pose, halves = np.zeros((3, 3, 4)), np.eye(4), np.ones((3, 3))
    uid, fraction, units = np.zeros(n, np.intp), np.zeros(n), np.zeros((n, 3))
    with pytest.raises(TypeError, match="uid must hold intp"):
        kernels.box_entries(uid.astype(np.int32), fraction, frames, pose, halves, units, 5.0, np.empty(n))
    with pytest.raises(ValueError, match="halves must have 9 items"):
        kernels.box_entries(uid, fraction, frames, pose, np.ones((2, 3)), units, 5.0, np.empty(n))
    with pytest.raises(TypeError, match="writable"):
        readonly = np.empty(n)
        readonly.flags.writeable = False
        kernels.box_entries(uid, fraction, frames, pose, halves, units, 5.0, readonly)
    with pytest.raises(TypeError, match="list"):
        kernels.ray_columns((), 0, None, None, None)
    with pytest.raises(ValueError, match="hold 1 rays, expected 2"):
        kernels.ray_columns([((0, -1, 0.5, (0, 0, 0), (0, 0, 1)),)], 2, np.empty(2, np.intp), None, None)
    with pytest.raises(TypeError, match="a ray's answer"):
        kernels.ray_columns([((0, -1),)], 1, np.empty(1, np.intp), None, None)


@needs_kernels
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_add_clip_equals_the_numpy_path(dtype):
    rng = np.random.default_rng(1)
    x = rng.normal(0.0, 2.0, (7, 5)).astype(dtype)
    x[0, :3] = (np.nan, -0.0, np.inf)
    noise = rng.normal(0.0, 0.5, x.shape).astype(dtype)
    low, high = np.full(x.shape, -1.5, dtype), np.full(x.shape, 1.5, dtype)
    low[1, 1] = high[1, 1] = 0.25
    got, expect = kernels.add_clip(x, noise, low, high), native._numpy_add_clip(x, noise, low, high)
    assert got.dtype == expect.dtype == dtype and got.shape == x.shape
    assert np.array_equal(got, expect, equal_nan=True)
    assert np.array_equal(np.signbit(got), np.signbit(expect))
    with pytest.raises(TypeError, match="noise must hold"):
        kernels.add_clip(x, noise.astype(np.float16), low, high)
    with pytest.raises(ValueError, match="low must have 35 items"):
        kernels.add_clip(x, noise, low[:2], high)


@needs_kernels
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_add_clip_row_adds_the_row_it_is_given(dtype):
    """add_clip_row takes its noise as a row of a pre-drawn block, by number: the numbers of
    add_clip on that row; a row outside the block, or a block not of rows, is refused."""
    rng = np.random.default_rng(2)
    x = rng.normal(0.0, 2.0, 6).astype(dtype)
    block = rng.normal(0.0, 0.5, (4, 6)).astype(dtype)
    low, high = np.full(6, -1.0, dtype), np.full(6, 1.0, dtype)
    for row in range(4):
        got = kernels.add_clip_row(x, block, low, high, row)
        assert got.dtype == dtype and np.array_equal(got, native._numpy_add_clip_row(x, block, low, high, row))
        assert np.array_equal(got, kernels.add_clip(x, block[row], low, high))
    for bad in (4, -1):
        with pytest.raises(ValueError, match=f"no row {bad}"):
            kernels.add_clip_row(x, block, low, high, bad)
    with pytest.raises(ValueError, match="no row 0 of 6 items"):
        kernels.add_clip_row(x, block.ravel()[:9], low, high, 0)
    with pytest.raises(TypeError, match="add_clip_row takes 5 arguments"):
        kernels.add_clip_row(x, block, low, high)


@needs_kernels
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_step_kernels_equal_the_numpy_path(dtype):
    """The per-step kernels (action box, control writes, state reads) against their twins."""
    rng = np.random.default_rng(2)
    low, high = np.full(6, -1.0), np.array([1.0, 1.0, 2.0, 0.5, 1.0, 0.0])
    action = rng.normal(0.0, 1.5, 6).astype(dtype)
    action[1] = -0.0
    got, expect = kernels.box_action(action, low, high), native._numpy_box_action(action, low, high)
    assert got.dtype == expect.dtype == np.float64
    assert np.array_equal(got, expect) and np.array_equal(np.signbit(got), np.signbit(expect))
    for other in ([0.5, 3, -2, 0, 1, -1], np.arange(-3, 3), np.linspace(-2.0, 2.0, 12)[::2], action.astype(np.float16)):
        assert np.array_equal(kernels.box_action(other, low, high), native._numpy_box_action(other, low, high))
    for bad in (np.nan, np.inf):
        action[3] = bad
        assert kernels.box_action(action, low, high) is None and native._numpy_box_action(action, low, high) is None

    index = np.array([4, 0, 2], dtype=np.intp)
    values = np.array([3.0, -0.25, 0.5], dtype=dtype)
    for bounds in ((None, None), (np.zeros(3), np.ones(3))):
        fast, slow = np.arange(5.0), np.arange(5.0)
        changed = 3 if bounds[0] is None else 2  # clipped, the first entry stays 0
        assert kernels.put(fast, index, values, *bounds) == native._numpy_put(slow, index, values, *bounds) == changed
        assert np.array_equal(fast, slow)
        assert kernels.put(fast, index, values, *bounds) == native._numpy_put(slow, index, values, *bounds) == 0  # unchanged
        values_nan = values.copy()
        values_nan[2] = np.nan
        assert kernels.put(fast, index, values_nan, *bounds) == native._numpy_put(slow, index, values_nan, *bounds) == -1
        assert np.array_equal(fast, slow)  # untouched

    fast, slow = np.zeros(5), np.zeros(5)
    assert kernels.put(fast, index, [1, 2, 3], None, None) == native._numpy_put(slow, index, [1, 2, 3], None, None) == 3
    assert np.array_equal(fast, slow)

    rows = np.arange(12.0).reshape(4, 3)
    assert np.array_equal(kernels.take(rows, np.array([3, 0, 3], np.intp)), rows.take([3, 0, 3], axis=0))
    assert np.array_equal(kernels.take(rows[:, 0].copy(), np.array([1, 2], np.intp)), np.array([3.0, 6.0]))
    parts = (rows, action, [7, 8], rows[:, 1], np.float32(2.5))
    got, expect = kernels.concat(parts), native._numpy_concat(parts)
    assert got.dtype == expect.dtype == np.float64 and np.array_equal(got, expect, equal_nan=True)


def _grasp_rollout(backend_name: str) -> np.ndarray:
    env = gymnasium.make("SimSuite/Grasp-v0", backend=backend_name)
    obs, _ = env.reset(seed=3)
    rng = np.random.default_rng(0)
    out = [obs]
    for _ in range(25):
        out.append(env.step(rng.uniform(-1.2, 1.2, env.action_space.shape).astype(np.float32))[0])
    env.close()
    return np.array(out)


@needs_kernels
@pytest.mark.parametrize("backend_name", ["mujoco", "pybullet"])
def test_env_steps_are_the_same_with_and_without_the_kernels(backend_name):
    """Grasp-v0 (float32 actions beyond the box, joint targets, joint states and body poses
    read back) gives the same observations on either path."""
    fast = _grasp_rollout(backend_name)
    assert native.use_kernels(False) is False
    try:
        assert native.box_action is native._numpy_box_action
        slow = _grasp_rollout(backend_name)
    finally:
        native.use_kernels()
    assert native.box_action is kernels.box_action
    assert np.array_equal(fast, slow)


@needs_kernels
def test_pybullet_answers_read_the_same_with_and_without_the_kernels():
    values = [0.1, 0.2, 0.3, 0.1, 0.2, 0.3, 0.927, *map(float, range(7))]  # (x, y, z, qx, qy, qz, qw) per pose
    for got, expect in zip(kernels.pose_rows(values), native._numpy_pose_rows(values)):
        assert got.shape == expect.shape and np.array_equal(got, expect)
    states = tuple((0.5 * k, -1.5 * k, (0.0,) * 6, 2.0) for k in range(5))  # getJointStates' answer
    for got, expect in zip(kernels.joint_columns(states, [4, 1, 2]), native._numpy_joint_columns(states, [4, 1, 2])):
        assert np.array_equal(got, expect)


@needs_kernels
def test_step_kernels_refuse_wrong_buffers():
    with pytest.raises(ValueError, match="3 entries but values of 2 dimensions"):
        kernels.put(np.zeros(5), np.arange(3, dtype=np.intp), np.zeros((3, 1)), None, None)
    with pytest.raises(IndexError, match="index 5 is out of bounds"):
        kernels.put(np.zeros(5), np.array([5], np.intp), np.zeros(1), None, None)
    with pytest.raises(ValueError, match="low must have 1 items"):
        kernels.put(np.zeros(5), np.array([1], np.intp), np.zeros(1), np.zeros(2), np.ones(2))
    with pytest.raises(IndexError, match="out of bounds for src with 2 rows"):
        kernels.take(np.zeros((2, 3)), np.array([2], np.intp))
    with pytest.raises(TypeError, match="7 floats per pose"):
        kernels.pose_rows([0.0] * 6)
    with pytest.raises(IndexError, match="slot 3 is out of bounds for 2 joint states"):
        kernels.joint_columns(((0.0, 0.0), (0.0, 0.0)), [3])
    for concat in (kernels.concat, native._numpy_concat):
        with pytest.raises(ValueError, match="need at least one array"):
            concat(())
    with pytest.raises(ValueError, match="could not convert string to float"):
        kernels.box_action(["a", "b"], np.zeros(2), np.ones(2))
    with pytest.raises(TypeError, match="high must hold float64"):
        kernels.box_action(np.zeros(2), np.zeros(2), np.ones(2, np.float32))
    with pytest.raises(ValueError, match=r"action must have shape \(2,\), got \(1, 2\)"):
        kernels.box_action(np.zeros((1, 2)), np.zeros(2), np.ones(2))
