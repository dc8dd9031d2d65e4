"""The backend protocol on both engines: rays, state round trip, parameters, errors, resources."""

from __future__ import annotations

import gc
import math

import numpy as np
import pytest

from conftest import floor, pendulum_scene, sliding_box_scene
from simsuite.backends import BACKENDS, BackendError, make_backend
from simsuite.scene import Body, Geom, Joint, Scene
from simsuite.transforms import quat_from_axis_angle, quat_to_mat


def ray_scene() -> Scene:
    """Static boxes, spheres and capsules at known poses."""
    scene = Scene(name="rays")
    scene.add(floor())
    scene.add(Body("wall", pos=(3.0, 0.0, 1.0), geoms=[Geom("wall_geom", "box", (0.1, 2.0, 1.0))]))
    scene.add(Body("crate", pos=(-1.0, 1.5, 0.4), quat=quat_from_axis_angle((0, 0, 1), 0.5), geoms=[Geom("crate_geom", "box", (0.3, 0.2, 0.4))]))
    scene.add(Body("ball", pos=(0.5, -1.5, 0.7), geoms=[Geom("ball_geom", "sphere", (0.35,))]))
    scene.add(Body("post", pos=(-1.5, -1.0, 0.8), quat=quat_from_axis_angle((1, 0, 0), 0.3), geoms=[Geom("post_geom", "capsule", (0.15, 0.5))]))
    scene.add(Body("ghost", pos=(1.5, 0.0, 1.0), geoms=[Geom("ghost_geom", "box", (0.2, 0.2, 0.2), collide=False)]))
    return scene


def test_ray_hits_box_face_exactly(make):
    backend = make(ray_scene())
    hits = backend.cast_rays(np.array([0.0, 0.0, 1.0]), np.array([[1.0, 0.0, 0.0], [0.0, 0.0, -1.0], [0.0, 0.0, 1.0]]))
    # through the visual-only ghost to the wall face at x = 2.9; down to the floor; up into nothing
    assert abs(hits.distance_m[0] - 2.9) < 1e-6 and hits.names[0] == "wall"
    assert abs(hits.distance_m[1] - 1.0) < 1e-6 and hits.names[1] == "floor"
    assert np.isinf(hits.distance_m[2]) and hits.body_index[2] == -1 and hits.names[2] is None


def test_ray_range_limit_and_bad_input(make):
    backend = make(ray_scene())
    hits = backend.cast_rays(np.zeros((1, 3)) + [0, 0, 1], np.array([[1.0, 0.0, 0.0]]), max_range_m=2.0)
    assert np.isinf(hits.distance_m[0])
    with pytest.raises(BackendError, match="shape"):
        backend.cast_rays(np.zeros(3), np.zeros((4, 2)))
    with pytest.raises(BackendError, match="finite"):
        backend.cast_rays(np.zeros(3), np.array([[np.nan, 0.0, 1.0]]))


def test_ray_fan_casts_what_cast_rays_casts_from_a_moving_body(make):
    """A ray fan (a LIDAR's beams fixed to a body, prepared once) gives cast_rays' answer for
    the same rays from the body's current pose, wherever the body has moved since; on a body
    whose centre of mass is offset and turned, and on a static body."""
    from simsuite.scene import Inertial

    scene = ray_scene()
    inertial = Inertial(1.0, (0.01, 0.02, 0.03), pos=(0.05, 0.02, -0.03), quat=quat_from_axis_angle((1, 1, 0), 0.6))
    scene.add(Body("carrier", pos=(0.0, 0.0, 0.6), joint=Joint("carrier_free", "free"), inertial=inertial))
    backend = make(scene)
    rng = np.random.default_rng(5)
    directions, offset = rng.normal(size=(3000, 3)), np.array([0.1, -0.05, 0.3])
    unit = directions / np.linalg.norm(directions, axis=1, keepdims=True)

    def check(fan, body: str) -> None:
        pos, quat = backend.body_pose(body)
        rot = quat_to_mat(quat)
        expect = backend.cast_rays(pos + rot @ offset, unit @ rot.T, max_range_m=6.0)
        hits = fan.cast()
        assert np.array_equal(hits.body_index, expect.body_index) and hits.body_index.max() >= 0
        assert np.array_equal(np.isinf(hits.distance_m), np.isinf(expect.distance_m))
        hit = np.isfinite(expect.distance_m)
        assert np.abs(hits.distance_m[hit] - expect.distance_m[hit]).max() < 1e-9

    fan = backend.ray_fan("carrier", directions, offset, max_range_m=6.0)
    for pos, quat in [((0.0, 0.0, 0.6), (1.0, 0.0, 0.0, 0.0)), ((0.4, -0.3, 0.8), quat_from_axis_angle((0.2, 0.5, 1.0), 1.1))]:
        backend.set_body_pose("carrier", pos, quat)
        check(fan, "carrier")
    check(backend.ray_fan("crate", directions, offset, max_range_m=6.0), "crate")  # static, turned
    with pytest.raises(BackendError, match="unknown body"):
        backend.ray_fan("nope", directions)
    with pytest.raises(BackendError, match="max_range_m"):
        backend.ray_fan("carrier", directions, max_range_m=0.0)
    with pytest.raises(BackendError, match="non-zero"):
        backend.ray_fan("carrier", np.zeros((2, 3)))


def _distance_to_box_edge(scene: Scene, body: str, point: np.ndarray) -> float:
    """How far a hit point on a box face lies from the nearest edge of that face [m]."""
    b = scene.body(body)
    local = quat_to_mat(b.quat).T @ (point - np.asarray(b.pos))
    half = np.asarray(b.geoms[0].size)
    face_axis = int(np.argmin(np.abs(half - np.abs(local))))
    others = [i for i in range(3) if i != face_axis]
    return float(min(half[i] - abs(local[i]) for i in others))


def test_20000_random_rays_agree_across_backends():
    scene = ray_scene()
    rng = np.random.default_rng(7)
    n = 20_000
    origins = rng.uniform([-0.5, -0.5, 0.2], [0.5, 0.5, 1.8], size=(n, 3))
    directions = rng.normal(size=(n, 3))
    results = {}
    for name in BACKENDS:
        backend = make_backend(name)
        backend.compile(scene)
        results[name] = backend.cast_rays(origins, directions, max_range_m=20.0)
        backend.close()
    a, b = results["mujoco"], results["pybullet"]
    unit = directions / np.linalg.norm(directions, axis=1, keepdims=True)
    names_a = np.array(a.names, dtype=object)
    both = np.isfinite(a.distance_m) & np.isfinite(b.distance_m)
    assert both.sum() > n * 0.5
    boxes = {"wall", "crate"}
    far_from_edges = np.ones(n, dtype=bool)
    for i in np.flatnonzero(both):
        if names_a[i] in boxes:
            point = origins[i] + unit[i] * a.distance_m[i]
            far_from_edges[i] = _distance_to_box_edge(scene, names_a[i], point) >= 0.005
    clean = both & far_from_edges
    diff = np.zeros(n)
    diff[both] = np.abs(a.distance_m[both] - b.distance_m[both])
    assert np.max(diff[clean]) < 1e-5, np.max(diff[clean])
    assert (a.body_index[clean] == b.body_index[clean]).all()
    near = both & ~far_from_edges
    print(f"\n{clean.sum()} rays compared away from box edges: max |Δ| = {np.max(diff[clean]):.2e} m; "
          f"{near.sum()} rays within 5 mm of a box edge: max |Δ| = {np.max(diff[near], initial=0):.2e} m; "
          f"hit/miss disagreements: {(np.isfinite(a.distance_m) != np.isfinite(b.distance_m)).sum()}")


def box_world() -> Scene:
    """A floor plane and single boxes at random poses, one of them free to move, and a
    carrier body without geoms: PyBullet's short exact ray path (quirk 11) applies."""
    from simsuite.scene import Inertial

    rng = np.random.default_rng(11)
    scene = Scene(name="box_world")
    scene.add(floor())
    for i in range(12):
        pos = (*rng.uniform(-4.0, 4.0, 2), rng.uniform(0.2, 1.5))
        scene.add(Body(f"box{i}", pos=pos, quat=quat_from_axis_angle(rng.normal(size=3), rng.uniform(0, np.pi)), geoms=[Geom(f"box{i}_geom", "box", tuple(rng.uniform(0.1, 0.6, 3)))]))
    scene.add(Body("cart", pos=(2.0, 2.0, 0.3), joint=Joint("cart_free", "free"), geoms=[Geom("cart_geom", "box", (0.3, 0.2, 0.3))]))
    inertial = Inertial(1.0, (0.01, 0.02, 0.03), pos=(0.05, 0.02, -0.03), quat=quat_from_axis_angle((1, 1, 0), 0.6))
    scene.add(Body("carrier", pos=(0.0, 0.0, 0.6), joint=Joint("carrier_free", "free"), inertial=inertial))
    return scene


def test_box_worlds_take_the_short_exact_ray_path_with_the_same_answers():
    """In a world of single boxes and planes, PyBullet answers rays from one origin from the
    hit uid alone (exact box and plane entries, no Bullet fraction); that path gives what the
    general path (per-ray origins) gives, and what MuJoCo gives, also through a ray fan on a
    moving body and with a moving box."""
    scene = box_world()
    rng = np.random.default_rng(3)
    directions = rng.normal(size=(20_000, 3))
    origin = np.array([0.1, -0.2, 0.8])
    pybullet, mujoco = make_backend("pybullet"), make_backend("mujoco")
    try:
        pybullet.compile(scene)
        mujoco.compile(scene)
        assert pybullet._box_rays is not None  # the short path is the one under test
        for pose in [((2.0, 2.0, 0.3), (1.0, 0.0, 0.0, 0.0)), ((0.8, 1.2, 0.9), quat_from_axis_angle((0.3, 1.0, 0.2), 0.8))]:
            for backend in (pybullet, mujoco):
                backend.set_body_pose("cart", *pose)
            short = pybullet.cast_rays(origin, directions, max_range_m=9.0)
            general = pybullet.cast_rays(np.tile(origin, (len(directions), 1)), directions, max_range_m=9.0)
            assert np.array_equal(short.body_index, general.body_index)
            assert np.array_equal(np.isinf(short.distance_m), np.isinf(general.distance_m))
            hit = np.isfinite(general.distance_m)
            assert hit.sum() > 5_000 and np.abs(short.distance_m[hit] - general.distance_m[hit]).max() < 1e-9
            assert "cart" in {short.body_names[i] for i in short.body_index[hit]}
            exact = mujoco.cast_rays(origin, directions, max_range_m=9.0)
            same = (exact.body_index == short.body_index) & hit
            assert same.sum() > 0.99 * hit.sum()  # Bullet's rounded box edges decide a few others
            assert np.abs(exact.distance_m[same] - short.distance_m[same]).max() < 1e-9
        fan = pybullet.ray_fan("carrier", directions[:2000], (0.1, -0.05, 0.3), max_range_m=9.0)
        pybullet.set_body_pose("carrier", (0.4, -0.3, 0.8), quat_from_axis_angle((0.2, 0.5, 1.0), 1.1))
        pos, quat = pybullet.body_pose("carrier")
        rot = quat_to_mat(quat)
        expect = pybullet.cast_rays(pos + rot @ [0.1, -0.05, 0.3], directions[:2000] @ rot.T, max_range_m=9.0)
        hits = fan.cast()
        assert np.array_equal(hits.body_index, expect.body_index)
        hit = np.isfinite(expect.distance_m)
        assert np.array_equal(np.isfinite(hits.distance_m), hit) and np.abs(hits.distance_m[hit] - expect.distance_m[hit]).max() < 1e-9
    finally:
        pybullet.close()
        mujoco.close()


def contact_scene() -> Scene:
    scene = sliding_box_scene(0.5)
    pend = pendulum_scene().bodies[0]
    scene.add(pend)
    scene.actuators.extend(pendulum_scene().actuators)
    return scene


def _rollout(backend, steps: int) -> np.ndarray:
    out = []
    for i in range(steps):
        backend.set_controls({"swing_motor": np.sin(i * 0.05)})
        backend.apply_force("box", (2.0 * np.cos(i * 0.03), 1.0, 0.0), point=(0.05, 0.0, 0.0), frame="body")
        backend.step(2)
        pos, quat = backend.body_poses()
        out.append(np.concatenate([pos.ravel(), quat.ravel()]))
    return np.asarray(out)


def test_batched_parameter_writes_act_as_the_same_writes_one_by_one(make):
    """A randomized reset writes its parameters in one batch (derived updates run once, at
    the end): the physics afterwards is bit for bit that of the same writes made singly."""
    writes = {"box.mass_kg": 2.5, "box.friction": 0.3, "floor.friction": 0.8, "box.restitution": 0.2,
              "box.linear_damping": 0.1, "box.inertia_scale": 1.2, "swing.damping": 0.05, "swing_motor.gain": 1.4}
    one_by_one, batched = make(contact_scene()), make(contact_scene())
    for name, value in writes.items():
        one_by_one.set_param(name, value)
    with batched.batched_params():
        for name, value in writes.items():
            batched.set_param(name, value)
    assert {n: batched.get_param(n) for n in writes} == pytest.approx(writes)
    assert np.array_equal(_rollout(one_by_one, 150), _rollout(batched, 150))


def test_state_round_trip_is_bit_exact(make):
    backend = make(contact_scene())
    _rollout(backend, 100)  # box now in sliding contact
    state = backend.get_state()
    first = _rollout(backend, 200)
    backend.set_state(state)
    second = _rollout(backend, 200)
    assert np.array_equal(first, second)
    assert backend.contacts("box"), "the round trip must be tested while in contact"


def test_state_round_trip_through_a_copy(make):
    """A state that went through a file (a fresh array) restores the same physics."""
    backend = make(contact_scene())
    _rollout(backend, 50)
    state = np.array(backend.get_state().tolist())
    pos_before = backend.body_poses()[0].copy()
    _rollout(backend, 50)
    backend.set_state(state)
    assert np.allclose(backend.body_poses()[0], pos_before, atol=1e-9)
    with pytest.raises(BackendError):
        backend.set_state(state[:-1])
    with pytest.raises(BackendError):
        backend.set_state(np.full_like(state, np.nan))


def test_reset_restores_initial_state(make):
    backend = make(contact_scene())
    initial = backend.body_poses()[0].copy()
    _rollout(backend, 30)
    backend.reset()
    assert np.allclose(backend.body_poses()[0], initial, atol=1e-12)
    assert backend.time_s == 0.0


def test_poses_velocities_and_contacts_by_name(make):
    backend = make(contact_scene())
    backend.step(100)
    pos, quat = backend.body_pose("box")
    assert abs(pos[2] - 0.05) < 2e-3 and abs(np.linalg.norm(quat) - 1) < 1e-9
    contacts = backend.contacts("box")
    assert {c.other for c in contacts} == {"floor"}
    total = sum(c.normal_force_n for c in contacts)
    weight = backend.get_param("box.mass_kg") * 9.81
    assert abs(total / weight - 1) < 0.05
    assert all(c.normal[2] > 0.99 for c in contacts)  # pointing from the floor into the box
    backend.set_joint_position("swing", 0.0, velocity=2.0)
    lin_w, ang_w = backend.body_velocity("pole")
    lin_b, ang_b = backend.body_velocity("pole", frame="body")
    assert np.allclose(ang_w, [0.0, 2.0, 0.0], atol=1e-9) and np.allclose(lin_w, 0.0, atol=1e-9)
    assert np.allclose(ang_b, [0.0, 2.0, 0.0], atol=1e-9)


def test_parameters_by_name(make):
    backend = make(contact_scene())
    names = backend.param_names()
    for name in ("box.mass_kg", "box.friction", "floor.friction", "swing.damping", "swing_motor.gain", "gravity", "timestep_s"):
        assert name in names
    backend.set_param("box.mass_kg", 7.5)
    assert backend.get_param("box.mass_kg") == 7.5
    backend.set_param("gravity", (0.0, 0.0, -1.62))
    assert np.allclose(backend.get_param("gravity"), (0.0, 0.0, -1.62))
    backend.set_param("swing.damping", 0.3)
    assert backend.get_param("swing.damping") == pytest.approx(0.3)
    with pytest.raises(BackendError, match="box.mass"):
        backend.get_param("box.mas_kg")
    with pytest.raises(BackendError, match="mass_kg must be > 0"):
        backend.set_param("box.mass_kg", -1.0)


def test_gravity_change_changes_fall(make):
    backend = make(sliding_box_scene(0.5))
    backend.set_param("gravity", (0.0, 0.0, -1.0))
    backend.set_body_pose("box", (0.0, 0.0, 1.0))
    backend.step(100)  # 0.1 s
    z = backend.body_pose("box")[0][2]
    assert abs((1.0 - z) - 0.5 * 1.0 * 0.1**2) < 1e-3


def test_unknown_names_raise_clear_errors(make):
    backend = make(contact_scene())
    with pytest.raises(BackendError, match="unknown body 'bx'"):
        backend.body_pose("bx")
    with pytest.raises(BackendError, match="unknown actuator 'nope'"):
        backend.set_controls({"nope": 1.0})
    with pytest.raises(BackendError, match="finite"):
        backend.set_controls({"swing_motor": float("nan")})
    with pytest.raises(BackendError, match="site"):
        backend.site_pose("nowhere")
    with pytest.raises(BackendError, match="force"):
        backend.apply_force("box", (1.0, float("nan"), 0.0))
    with pytest.raises(BackendError, match="force"):
        backend.apply_force("box", (1.0, 0.0))
    with pytest.raises(BackendError, match="static"):
        backend.apply_force("floor", (1.0, 0.0, 0.0))


def test_unknown_backend_is_named():
    with pytest.raises(BackendError, match="unknown backend 'bullet'"):
        make_backend("bullet")


def test_200_create_close_cycles_leak_nothing(backend_name):
    import psutil

    proc = psutil.Process()
    scene = contact_scene()

    def cycle():
        backend = make_backend(backend_name)
        backend.compile(scene)
        backend.step(5)
        backend.close()

    for _ in range(20):  # warm up allocator pools and caches
        cycle()
    gc.collect()
    rss0 = proc.memory_info().rss
    for _ in range(200):
        cycle()
    gc.collect()
    grown_mb = (proc.memory_info().rss - rss0) / 2**20
    assert grown_mb < 50, grown_mb
    if backend_name == "pybullet":
        import pybullet

        # a new client gets the lowest free id: a leak would push ids up
        cid = pybullet.connect(pybullet.DIRECT)
        pybullet.disconnect(cid)
        assert cid < 4, cid


def test_unstable_scene_reports_divergence(make):
    scene = Scene(name="unstable", timestep_s=0.01)
    scene.add(Body("rod", pos=(0, 0, 1), joint=Joint("spin", "hinge"), geoms=[Geom("rod_geom", "box", (0.5, 0.01, 0.01), density_kg_m3=1.0)]))
    from simsuite.scene import Actuator

    scene.actuators.append(Actuator("servo", "spin", "position", kp=1e9, kv=0.0))
    backend = make(scene)
    backend.set_controls({"servo": 1.0})
    for _ in range(50):
        backend.step(10)
        if backend.diverged:
            break
    assert backend.diverged
    backend.reset()
    assert not backend.diverged


def test_batched_joint_states_and_body_velocity_setter(make):
    backend = make(contact_scene())
    backend.set_joint_position("swing", 0.3, velocity=-1.5)
    q, qd = backend.joint_states(["swing"])
    assert q.tolist() == [0.3] and qd.tolist() == [-1.5]
    backend.set_body_pose("box", (0.0, 0.0, 1.0), (0.9238795, 0.0, 0.0, 0.3826834))
    backend.set_body_velocity("box", (1.0, -2.0, 0.5), (0.0, 0.0, 3.0))
    lin, ang = backend.body_velocity("box")
    assert np.allclose(lin, (1.0, -2.0, 0.5), atol=1e-9) and np.allclose(ang, (0.0, 0.0, 3.0), atol=1e-9)
    assert backend.body_names[backend.body_index("box")] == "box"
    with pytest.raises(BackendError, match="not free"):
        backend.set_body_velocity("pole", (0.0, 0.0, 0.0))


def test_initial_joint_position_is_an_offset_not_a_new_zero(make):
    """Joint.initial sets where a joint starts, not where its zero is (same on both engines)."""
    scene = pendulum_scene()
    scene.bodies[0].joint.initial = 0.5
    backend = make(scene)
    assert backend.joint_state("swing")[0] == pytest.approx(0.5)
    pos_start = backend.body_pose("pole")[1]
    backend.set_joint_position("swing", 0.0)
    assert np.allclose(backend.body_pose("pole")[1], (1.0, 0.0, 0.0, 0.0), atol=1e-12)
    backend.reset()
    assert np.allclose(backend.body_pose("pole")[1], pos_start, atol=1e-12)


def servo_arm_scene() -> Scene:
    """Two links: a force-limited position servo on a damped shoulder, a velocity motor on the elbow."""
    from simsuite.scene import Actuator, Inertial

    scene = Scene(name="servo_arm", timestep_s=0.002)
    upper = Body("upper", pos=(0.0, 0.0, 1.5), joint=Joint("shoulder", "hinge", axis=(0.0, 1.0, 0.0), damping=0.3),
                 geoms=[Geom("upper_geom", "capsule", (0.03, 0.2), pos=(0.0, 0.0, -0.2))],
                 inertial=Inertial(1.0, (0.02, 0.02, 0.001), pos=(0.0, 0.0, -0.2)))
    upper.children.append(Body("lower", pos=(0.0, 0.0, -0.4), joint=Joint("elbow", "hinge", axis=(0.0, 1.0, 0.0), damping=0.05),
                               geoms=[Geom("lower_geom", "capsule", (0.03, 0.2), pos=(0.0, 0.0, -0.2))],
                               inertial=Inertial(0.5, (0.01, 0.01, 0.001), pos=(0.0, 0.0, -0.2))))
    scene.add(upper)
    scene.actuators += [Actuator("shoulder_servo", "shoulder", "position", kp=60.0, kv=4.0, force_range=(-15.0, 15.0)),
                        Actuator("elbow_motor", "elbow", "velocity", kv=3.0, force_range=(-2.0, 2.0))]
    return scene


def servo_trajectory(backend) -> np.ndarray:
    """Joint angles over 2 s of changing commands, with a gain change (the clamps engage)."""
    backend.compile(servo_arm_scene())
    backend.set_param("shoulder_servo.gain", 1.3)
    angles = []
    for k in range(100):
        backend.set_controls({"shoulder_servo": 1.2 if k < 50 else -0.4, "elbow_motor": 3.0 if k < 30 else -1.0})
        backend.step(10)
        angles.append(backend.joint_states(["shoulder", "elbow"])[0].copy())
    backend.close()
    return np.array(angles)


def test_pybullet_c_side_pd_follows_the_actuator_law(monkeypatch):
    """PyBullet runs position/velocity actuators in its C-side PD controller and joint damping
    as Bullet's own; they follow the law computed in Python every substep (the backend's
    fallback path) up to the plugin's float32 arguments, and MuJoCo within its different
    integrator (implicit damping)."""
    from simsuite.backends.pybullet import PybulletBackend

    c_side = servo_trajectory(make_backend("pybullet"))
    mujoco = servo_trajectory(make_backend("mujoco"))
    monkeypatch.setattr(PybulletBackend, "_pd_capable", lambda self, act, n_on_joint: False)
    python_law = servo_trajectory(make_backend("pybullet"))
    assert np.abs(c_side - python_law).max() < 1e-6  # float32 gains and targets: ~1e-7 rad here
    assert np.abs(c_side - mujoco).max() < 0.02
    assert abs(c_side[49, 0] - 1.2) < 0.1  # near its target before the switch (gravity sags it)


def test_pybullet_recompile_leaves_no_pd_controller_behind():
    """PyBullet's PD controllers survive resetSimulation; a recompiled world must not inherit them."""
    reused = make_backend("pybullet")
    reused.compile(servo_arm_scene())
    reused.set_controls({"shoulder_servo": 1.0})
    reused.step(10)
    fresh = make_backend("pybullet")
    angles = []
    for backend in (reused, fresh):
        scene = servo_arm_scene()
        scene.actuators.clear()
        backend.compile(scene)
        backend.set_joint_position("shoulder", 0.5)
        backend.step(200)
        angles.append(backend.joint_states(["shoulder", "elbow"])[0])
        backend.close()
    assert np.array_equal(angles[0], angles[1])


def test_set_control_array_matches_set_controls(make):
    """The vector control path clips like set_controls (a command beyond ctrl_range acts as
    the bound, on MuJoCo inside the engine) and refuses bad input by name."""
    scene = servo_arm_scene()
    scene.actuators[0].ctrl_range = (-1.0, 1.0)
    by_dict, by_array, at_bound = make(scene), make(servo_arm_scene()), make(servo_arm_scene())
    by_array.compile(scene)
    at_bound.compile(scene)
    names = ("shoulder_servo", "elbow_motor")
    for _ in range(20):
        by_dict.set_controls({"shoulder_servo": 3.0, "elbow_motor": -2.0})
        by_array.set_control_array(names, np.array([3.0, -2.0]))
        at_bound.set_control_array(names, np.array([1.0, -2.0]))
        for backend in (by_dict, by_array, at_bound):
            backend.step(5)
    angles = [b.joint_states(["shoulder", "elbow"])[0] for b in (by_dict, by_array, at_bound)]
    assert np.array_equal(angles[0], angles[1]) and np.array_equal(angles[0], angles[2])
    with pytest.raises(BackendError, match="shape"):
        by_array.set_control_array(names, np.zeros(3))
    with pytest.raises(BackendError, match="finite"):
        by_array.set_control_array(names, np.array([np.nan, 0.0]))
    with pytest.raises(BackendError, match="unknown actuator"):
        by_array.set_control_array(("shoulder_servo", "nope"), np.zeros(2))


def moving_arm_and_box(make):
    """A servo arm and a spinning, sliding box, each some steps into their motion."""
    arm = make(servo_arm_scene())
    arm.set_controls({"shoulder_servo": 0.7, "elbow_motor": 1.0})
    arm.step(50)
    box = make(sliding_box_scene(0.5))
    box.set_body_velocity("box", (1.0, 0.0, 0.0), (0.0, 0.0, 2.0))
    box.step(20)
    return arm, box


def test_body_poses_of_named_bodies(make):
    """body_poses(names) gives those rows of body_poses(), in the order asked, links included."""
    arm, box = moving_arm_and_box(make)
    for backend, names in ((arm, ("lower", "upper", "lower")), (box, ["floor", "box"])):
        pos, quat = backend.body_poses()
        rows = [backend.body_index(n) for n in names]
        sub_pos, sub_quat = backend.body_poses(names)
        assert np.allclose(sub_pos, pos[rows], atol=1e-15) and np.allclose(sub_quat, quat[rows], atol=1e-15)
    with pytest.raises(BackendError, match="unknown body"):
        box.body_poses(("box", "nope"))
    with pytest.raises(BackendError, match="sequence"):
        box.body_poses("box")


def test_rays_on_moving_compound_bodies_are_exact_on_both_backends():
    """Rays at free bodies that moved and turned, one of them made of three geoms (spheres and
    a capsule off the body origin): both engines give the same distances (PyBullet's exact
    correction follows the moving geoms) and the same analytic answer for a sphere."""
    from simsuite.scene import Inertial

    scene = Scene(name="moving_rays", gravity=(0.0, 0.0, 0.0))
    scene.add(Body("dumbbell", pos=(0.0, 0.0, 1.0), joint=Joint("dumbbell_free", "free"), inertial=Inertial(1.0, (0.01, 0.01, 0.01)),
                   geoms=[Geom("bell_a", "sphere", (0.2,), pos=(0.4, 0.0, 0.1)), Geom("bell_b", "sphere", (0.2,), pos=(-0.4, 0.0, 0.1)),
                          Geom("bar", "capsule", (0.05, 0.4), pos=(0.0, 0.0, 0.1), quat=quat_from_axis_angle((0, 1, 0), np.pi / 2))]))
    scene.add(Body("crate", pos=(3.0, 0.0, 1.0), joint=Joint("crate_free", "free"), geoms=[Geom("crate_geom", "box", (0.3, 0.2, 0.4))]))
    rng = np.random.default_rng(3)
    directions = rng.normal([1.0, 0.0, 0.0], 0.15, size=(4000, 3))
    origin = np.array([-2.0, 0.1, 1.2])
    results = {}
    for name in BACKENDS:
        backend = make_backend(name)
        backend.compile(scene)
        backend.set_body_pose("dumbbell", (0.2, 0.1, 1.1), quat_from_axis_angle((0.3, 0.2, 1.0), 0.7))
        backend.set_body_velocity("crate", (0.0, 0.5, 0.0), (0.0, 0.0, 1.0))
        backend.step(100)  # the crate moved and turned
        results[name] = (backend.cast_rays(origin, directions, max_range_m=10.0), backend.body_pose("dumbbell"))
        backend.close()
    (a, (pos, quat)), (b, _) = results["mujoco"], results["pybullet"]
    both = np.isfinite(a.distance_m) & np.isfinite(b.distance_m)
    on_dumbbell = both & (a.body_index == b.body_index) & (np.array(a.names, dtype=object) == "dumbbell")
    assert on_dumbbell.sum() > 200 and (np.array(a.names, dtype=object)[both] == "crate").sum() > 50
    assert np.abs(a.distance_m[on_dumbbell] - b.distance_m[on_dumbbell]).max() < 1e-9
    centre = pos + quat_to_mat(quat) @ np.array([0.4, 0.0, 0.1])  # bell_a, analytically
    unit = directions / np.linalg.norm(directions, axis=1, keepdims=True)
    rel = origin - centre
    b_ = unit @ rel
    disc = b_ * b_ - (rel @ rel - 0.2**2)
    first = np.where(disc > 0, -b_ - np.sqrt(np.maximum(disc, 0.0)), np.inf)
    on_bell = on_dumbbell & np.isclose(b.distance_m, first, atol=1e-9)
    assert on_bell.sum() > 50


def test_body_motion_is_pose_and_velocity_in_one_call(make):
    """body_motion = body_pose + body_velocity (world axes), for a body whose COM is its frame
    origin, for a link whose COM is not, and for a static body."""
    arm, box = moving_arm_and_box(make)
    for backend, name in ((arm, "lower"), (arm, "upper"), (box, "box"), (box, "floor")):
        expected = (*backend.body_pose(name), *backend.body_velocity(name))
        for got, want in zip(backend.body_motion(name), expected):
            assert np.allclose(got, want, rtol=0.0, atol=1e-15), name
    with pytest.raises(BackendError, match="unknown body"):
        box.body_motion("nope")


def held_scene() -> Scene:
    """The servo arm (controls) and a free box on the floor (applied forces), in one world."""
    scene = servo_arm_scene()
    scene.add(floor())
    scene.add(Body("box", pos=(1.0, 0.0, 0.05), joint=Joint("box_free", "free"),
                   geoms=[Geom("box_geom", "box", (0.1, 0.1, 0.05), friction=0.3, density_kg_m3=500.0)]))
    return scene


def drive_with_latency(backend, mode: str, steps: int = 12, n: int = 6, k: int = 2) -> np.ndarray:
    """Control steps of n substeps whose commands land k substeps in, the forces of each step
    acting on into the next: stepped in two calls around the new commands ("split"), or
    with the new commands held back (``hold_commands``) in one call ("held") or in chunks
    ("chunks", as sensors step). Returns the arm angles and box poses after each step."""
    out = []
    for i in range(steps):
        controls = {"shoulder_servo": 0.8 * math.sin(i), "elbow_motor": math.cos(0.7 * i)}
        force, torque = (9.0 + 4.0 * math.sin(i), 6.0 * math.cos(i), 0.0), (0.0, 0.0, 0.2 * i)
        if mode == "split":
            backend.step(k)  # the last step's forces act here, then are cleared
            backend.set_controls(controls)
            backend.apply_force("box", force, torque)
            backend.step(n - k, keep_forces=True)
        else:
            backend.hold_commands(k)
            backend.set_controls(controls)
            backend.apply_force("box", force, torque)
            for chunk in ((n,) if mode == "held" else (1, 2, 3)):
                backend.step(chunk, keep_forces=True)
        pos, quat = backend.body_pose("box")
        out.append(np.concatenate([backend.joint_states(["shoulder", "elbow"])[0], pos, quat]))
    return np.array(out)


def test_held_commands_act_as_a_step_split_around_them(make):
    """hold_commands(k): the controls and forces in force act k more substeps, then the ones
    given since take over; the very numbers of a step split in two calls around the new
    commands, also when the step comes in chunks. Latency uses this to keep a control step
    one call. A reset drops a hold, and a bad count is refused."""
    split, held, chunks = (drive_with_latency(make(held_scene()), mode) for mode in ("split", "held", "chunks"))
    assert np.abs(np.diff(split[:, 2])).max() > 1e-3  # the box is pushed around
    assert np.array_equal(split, held) and np.array_equal(split, chunks)
    fresh, dropped = make(held_scene()), make(held_scene())
    dropped.hold_commands(3)
    dropped.set_controls({"shoulder_servo": 1.0})
    dropped.reset()
    for backend in (fresh, dropped):
        backend.set_controls({"shoulder_servo": -0.5})
        backend.apply_force("box", (4.0, 0.0, 0.0))
        backend.step(4)
    assert np.array_equal(fresh.body_pose("box")[0], dropped.body_pose("box")[0])
    assert np.array_equal(fresh.joint_states(["shoulder"])[0], dropped.joint_states(["shoulder"])[0])
    with pytest.raises(BackendError, match="hold_commands"):
        fresh.hold_commands(0)
