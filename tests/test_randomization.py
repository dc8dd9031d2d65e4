"""Domain randomization (issue 6): every dynamics parameter checked against physics through
the env API (``reset(options={"params": ...})``) on both engines; spaces, files and errors."""

from __future__ import annotations

import importlib
import math

import gymnasium
import numpy as np
import pytest

import simsuite  # noqa: F401
from conftest import G, sliding_box_scene
from simsuite.env import SimEnv
from simsuite.randomization import Param, ParamError, ParamSpace, RandomizeParams
from simsuite.registration import TASKS
from simsuite.task import Task

DT_S, CONTROL_DT_S = 0.005, 0.02


class PushBox(Task):
    """A 1 kg box on a floor; the action is a world-frame force [N] on it (x, z)."""

    control_dt_s = CONTROL_DT_S

    def build_scene(self, rng):
        return sliding_box_scene(1.0, DT_S)

    @property
    def action_space(self):
        return gymnasium.spaces.Box(-50.0, 50.0, (2,), np.float64)

    @property
    def observation_space(self):
        return gymnasium.spaces.Box(-np.inf, np.inf, (6,), np.float64)

    def reset(self, backend, rng):
        pass

    def apply_action(self, backend, action):
        backend.apply_force("box", (float(action[0]), 0.0, float(action[1])))

    def observe(self, backend):
        return np.concatenate([backend.body_pose("box")[0], backend.body_velocity("box")[0]])

    def reward_terms(self, backend, action):
        return {}

    def param_space(self):
        return ParamSpace([Param("box.mass_kg", 1.0, 0.1, 10.0, unit="kg"), Param("box.friction", 1.0, 0.05, 2.0)])


@pytest.fixture
def box_env(backend_name):
    env = SimEnv(PushBox(), backend=backend_name)
    yield env
    env.close()


def test_doubling_mass_doubles_the_force_that_holds_it(box_env):
    """Lift force that gives zero vertical acceleration: F_hold = m·g."""

    def hold_force(mass_kg: float) -> float:
        accel = []
        for force in (5.0, 30.0):
            box_env.reset(seed=0, options={"params": {"box.mass_kg": mass_kg}})
            box_env.backend.set_body_pose("box", (0.0, 0.0, 1.0))  # in the air
            obs, *_ = box_env.step(np.array([0.0, force]))
            accel.append(obs[5] / CONTROL_DT_S)
        slope = (accel[1] - accel[0]) / 25.0
        return 5.0 - accel[0] / slope

    f1, f2 = hold_force(1.0), hold_force(2.0)
    assert abs(f1 / G - 1.0) < 0.02, f1
    assert abs(f2 / f1 - 2.0) < 0.02, (f1, f2)


def test_mass_and_inertia_set_the_response_to_a_push(box_env):
    """Newton's second law under randomized values: a horizontal push F on the box in the air
    gives dv/dt = F/m, and a torque gives dω/dt ∝ 1/inertia_scale. The inertial mass must
    follow the parameter, not only the weight (which the hold-force test above sees)."""
    force_n, torque_nm = 10.0, 0.02
    spin = {}
    for mass_kg, scale in ((1.0, 1.0), (2.5, 2.0)):
        box_env.reset(seed=0, options={"params": {"box.mass_kg": mass_kg}})
        backend = box_env.backend
        backend.set_param("box.inertia_scale", scale)
        backend.set_body_pose("box", (0.0, 0.0, 1.0))  # in the air
        obs, *_ = box_env.step(np.array([force_n, 0.0]))
        assert obs[3] / CONTROL_DT_S == pytest.approx(force_n / mass_kg, rel=1e-9)
        backend.set_body_pose("box", (0.0, 0.0, 1.0))
        backend.apply_force("box", torque_nm=(0.0, 0.0, torque_nm))
        backend.step(1)
        spin[scale] = backend.body_velocity("box")[1][2]
    assert spin[1.0] / spin[2.0] == pytest.approx(2.0, rel=1e-9)


def test_friction_sets_sliding_distance_as_mu_g_predicts(box_env):
    """A box launched at v0 stops after v0² / (2 μ g), μ = product of box and floor friction."""
    v0 = 2.0
    for mu in (0.2, 0.4):
        obs, _ = box_env.reset(seed=0, options={"params": {"box.friction": mu}})
        box_env.step(np.zeros(2))  # settle
        box_env.backend.set_body_velocity("box", (v0, 0.0, 0.0))
        x0 = box_env.backend.body_pose("box")[0][0]
        for _ in range(200):
            obs, *_ = box_env.step(np.zeros(2))
            if abs(obs[3]) < 1e-3:
                break
        expected = v0**2 / (2 * mu * G)
        assert abs((obs[0] - x0) / expected - 1.0) < 0.06, (mu, obs[0] - x0, expected)


def _onset_time(env, latency_s: float) -> float:
    """When a constant force step given at t = 0 starts accelerating the box (no gravity)."""
    env.reset(seed=0, options={"params": {"actuation.latency_s": latency_s, "gravity.z_m_s2": 0.0}})
    env.backend.set_body_pose("box", (0.0, 0.0, 1.0))
    force, mass = 2.0, env.backend.get_param("box.mass_kg")
    env.step(np.zeros(2))  # the commands before the step: none
    t0 = env.backend.time_s
    for _ in range(10):
        obs, *_ = env.step(np.array([force, 0.0]))
    return env.backend.time_s - obs[3] * mass / force - t0


def test_action_latency_delays_the_response_by_that_time(box_env):
    base = _onset_time(box_env, 0.0)
    assert abs(base) < 1e-6
    for latency in (0.02, 0.05, 0.035):
        shift = _onset_time(box_env, latency) - base
        assert abs(shift - latency) <= DT_S / 2 + 1e-9, (latency, shift)


def test_uav_thrust_coefficient_sets_hover_throttle(backend_name):
    """Hover needs ω = √(m g / 4 kf): the motor command that holds altitude scales as 1/√kf."""
    env = gymnasium.make("SimSuite/UAV-v0", backend=backend_name).unwrapped

    def climb_rate(kf: float, command: float) -> float:
        """Vertical acceleration over 0.2 s once the motors settled (τ = 72 ms) [m/s²]."""
        env.reset(seed=0, options={"params": {"motor.kf": kf}})
        env.backend.set_body_pose("quadrotor", (0.0, 0.0, 1.5))
        env.backend.set_body_velocity("quadrotor", (0.0, 0.0, 0.0), (0.0, 0.0, 0.0))
        vz = [float(env.step(np.full(4, command, np.float32))[0][14]) for _ in range(20)]
        return (vz[-1] - vz[-11]) / (10 * env.task.control_dt_s)

    def hover_command(kf: float) -> float:
        lo, hi = -1.0, 1.0
        for _ in range(14):
            mid = (lo + hi) / 2
            lo, hi = (lo, mid) if climb_rate(kf, mid) > 0 else (mid, hi)
        return (lo + hi) / 2

    kf0 = env.task.params.motor.kf
    rpm = [(hover_command(kf) + 1.0) for kf in (kf0, 1.3 * kf0)]  # ∝ motor speed
    assert abs(rpm[1] / rpm[0] - 1 / math.sqrt(1.3)) < 0.01, rpm
    env.close()


def test_imu_noise_density_scales_the_reading_noise(backend_name):
    env = gymnasium.make("SimSuite/UAV-v0", backend=backend_name, obs=("state", "imu")).unwrapped

    def gyro_std(density: float) -> float:
        obs, _ = env.reset(seed=1, options={"params": {"imu.gyro_noise_density": density, "gravity.z_m_s2": 0.0}})
        env.backend.set_body_velocity("quadrotor", (0.0, 0.0, 0.0), (0.0, 0.0, 0.0))
        readings = [env.step(np.full(4, -1.0, np.float32))[0]["imu"][3:] for _ in range(100)]
        return float(np.std(readings, axis=0).mean())  # over time, per axis (biases are constant)

    low, high = gyro_std(1.5e-4), gyro_std(4.5e-4)
    assert 2.6 < high / low < 3.4, (low, high)
    env.close()


def test_drive_steering_gain_scales_the_turn(backend_name):
    env = gymnasium.make("SimSuite/Drive-v0", backend=backend_name).unwrapped
    yaw_rates = []
    for gain in (1.15, 0.85):
        env.reset(seed=3, options={"params": {"steering.gain": gain}})
        for _ in range(20):
            obs, *_ = env.step(np.array([0.3, 0.0], np.float32))
        yaw_rates.append(env.backend.body_velocity("ego")[1][2])
    assert 0.65 < yaw_rates[1] / yaw_rates[0] < 0.82, yaw_rates  # 0.85 / 1.15 = 0.74
    env.close()


# -- sampling, replay, spaces -------------------------------------------------------------
@pytest.mark.parametrize("env_id", ["SimSuite/UAV-v0", "SimSuite/Grasp-v0"])
def test_params_replay_the_same_trajectory(env_id, backend_name):
    """Seeded draws repeat; info["params"] given back through reset(options) replays exactly."""
    env = gymnasium.make(env_id, backend=backend_name, randomize=True)
    first, info = env.reset(seed=7)
    _, again = env.reset(seed=7)
    assert info["params"] == again["params"] and len(info["params"]) >= 5
    actions = [env.action_space.sample() for _ in range(15)]
    env.action_space.seed(0)

    def rollout(**reset):
        obs, _ = env.reset(**reset)
        return np.array([obs] + [env.step(a)[0] for a in actions])

    a = rollout(seed=7)
    b = rollout(seed=7, options={"params": info["params"]})
    plain = gymnasium.make(env_id, backend=backend_name)
    obs, _ = plain.reset(seed=7, options={"params": info["params"]})
    c = np.array([obs] + [plain.step(x)[0] for x in actions])
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(a, c)
    env.close()
    plain.close()


def test_params_go_back_to_nominal_when_no_longer_set():
    env = gymnasium.make("SimSuite/Pendulum-v0").unwrapped
    env.reset(seed=0, options={"params": {"pole.mass_kg": 1.2, "hinge.damping": 0.03}})
    assert env.backend.get_param("pole.mass_kg") == 1.2
    _, info = env.reset()
    assert info["params"] == {} and env.backend.get_param("pole.mass_kg") == 1.0
    assert env.backend.get_param("hinge.damping") == 0.0


def test_every_default_space_applies_and_is_documented():
    for env_id in ("SimSuite/Grasp-v0", "SimSuite/Nav-v0", "SimSuite/Drive-v0", "SimSuite/UAV-v0", "SimSuite/Pendulum-v0"):
        env = gymnasium.make(env_id, randomize=True)
        _, info = env.reset(seed=0)
        space = env.unwrapped.param_space
        assert set(info["params"]) == set(space.names) and len(space) >= 4
        for p in space:
            assert p.doc and (p.check(info["params"][p.name]) == info["params"][p.name])
        env.close()


def test_space_file_round_trip_and_vector_view(tmp_path):
    space = ParamSpace([
        Param("a.mass_kg", 1.0, 0.5, 2.0, dist="loguniform", unit="kg"),
        Param("b.friction", 0.8, 0.2, 1.0, dist="truncnormal", std=0.1),
        Param("c.noise", 0.0, -1.0, 1.0, dist="normal", mean=0.0, std=5.0),
        Param("d.texture", "checker", dist="categorical", choices=("none", "checker", "noise")),
        Param("e.count", 2, 0, 5, integer=True),
        Param("f.gain", 1.0, dist="fixed"),
    ])
    for suffix in (".yaml", ".json"):
        path = space.save(tmp_path / f"space{suffix}")
        assert ParamSpace.load(path).to_dict() == space.to_dict()
    rng1, rng2 = np.random.default_rng(3), np.random.default_rng(3)
    draws = [space.sample(rng1) for _ in range(300)]
    assert draws[:5] == [space.sample(rng2) for _ in range(5)]
    for p in space:
        vals = [d[p.name] for d in draws]
        if p.numeric:
            assert min(vals) >= p.low and max(vals) <= p.high
    assert set(d["d.texture"] for d in draws) == {"none", "checker", "noise"}
    assert all(float(d["e.count"]).is_integer() for d in draws)
    x = space.to_vector(draws[0])
    assert space.from_vector(x) == {k: v for k, v in draws[0].items() if k != "d.texture"}
    low, high = space.bounds()
    assert np.all(low <= x) and np.all(x <= high)


@pytest.mark.parametrize("text, message", [
    ("params: [1, 2]", "top-level 'params:' mapping"),
    ("params:\n  a.x: {dist: uniform, low: 0, high: 1}", "missing field 'nominal'"),
    ("params:\n  a.x: {dist: uniform, nominal: 2, low: 0, high: 1}", "exclude the nominal"),
    ("params:\n  a.x: {dist: gaussian, nominal: 0.5, low: 0, high: 1}", "field 'dist'"),
    ("params:\n  a.x: {nominal: 0.5, low: 0, high: 1, sigma: 3}", "unknown field(s) ['sigma']"),
    ("params:\n  a.x: {dist: normal, nominal: 0.5, low: 0, high: 1}", "field 'std'"),
    ("params:\n  a.x: {nominal: 0.5, low: 1, high: 0}", "'low' (1.0) is above 'high'"),
    ("params: {a.x: {nominal: 0.5, low: 0, high: 1}", "not valid YAML"),
])
def test_malformed_space_files_name_the_bad_field(tmp_path, text, message):
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(ParamError, match=None) as err:
        ParamSpace.load(path)
    assert message in str(err.value)


def test_bad_values_and_names_are_clear_errors(tmp_path):
    env = gymnasium.make("SimSuite/UAV-v0")
    with pytest.raises(ParamError, match=r"outside its bounds"):
        env.reset(seed=0, options={"params": {"motor.kf": 1.0}})
    with pytest.raises(ParamError, match=r"did you mean \[.*'motor.kf'"):
        env.reset(seed=0, options={"params": {"motor.kff": 3e-10}})
    with pytest.raises(ValueError, match="unknown reset options"):
        env.reset(options={"parameters": {}})
    with pytest.raises(ParamError, match="does not exist"):
        gymnasium.make("SimSuite/UAV-v0", randomize=str(tmp_path / "missing.yaml"))
    space = ParamSpace([Param("no_such_body.mass_kg", 1.0, 0.5, 2.0)])
    bad = gymnasium.make("SimSuite/UAV-v0", randomize=space)
    with pytest.raises(ParamError, match="no_such_body.mass_kg"):
        bad.reset(seed=0)
    env.close()


def test_wrapper_form_and_file_form_draw_the_same(tmp_path):
    space = gymnasium.make("SimSuite/UAV-v0").unwrapped.param_space
    path = space.save(tmp_path / "uav.yaml")
    wrapped = RandomizeParams(gymnasium.make("SimSuite/UAV-v0"), path)
    _, info1 = wrapped.reset(seed=5)
    _, info2 = wrapped.reset(seed=5)
    assert info1["params"] == info2["params"] and set(info1["params"]) >= set(space.names) - {"imu.gyro_noise_density", "imu.accel_noise_density"}
    direct = gymnasium.make("SimSuite/UAV-v0", randomize=path)
    _, info3 = direct.reset(seed=5)
    assert set(info3["params"]) == set(space.names)


@pytest.mark.parametrize("prop, check", [("torsional_friction", "spin"), ("rolling_friction", "roll")])
def test_torsional_and_rolling_friction_slow_what_they_name(make, backend_name, prop, check):
    """A ball rolling along x while spinning about z: torsional friction stops the spin,
    rolling friction slows the roll. The floor's coefficients follow each engine's combination
    rule (MuJoCo r₁·r₂; Bullet r₁·μ₂ + μ₁·r₂, so the floor's own values are 0 there)."""
    from simsuite.scene import Body, Geom, Joint, Scene

    floor_r = 1.0 if backend_name == "mujoco" else 0.0
    scene = Scene(name="spin", timestep_s=0.002)
    scene.add(Body("floor", geoms=[Geom("floor_plane", "plane", (0.0, 0.0), friction=1.0, torsional_friction=floor_r,
                                        rolling_friction=floor_r)]))
    scene.add(Body("ball", pos=(0.0, 0.0, 0.05), joint=Joint("ball_free", "free"), geoms=[Geom("ball_geom", "sphere", (0.05,))]))
    backend = make(scene)
    results = []
    for value in (0.0, 0.01):
        backend.reset()
        backend.step(50)
        backend.set_param(f"ball.{prop}", value)
        assert backend.get_param(f"ball.{prop}") == value
        backend.set_body_velocity("ball", (1.0, 0.0, 0.0), (0.0, 20.0, 5.0))
        backend.step(250)
        v, w = backend.body_velocity("ball")
        results.append(abs(w[2]) if check == "spin" else v[0])
    assert results[0] > 0.8 * (5.0 if check == "spin" else 1.0), results  # free: keeps going
    assert results[1] < 0.5 * results[0], results


def test_visual_randomization_changes_rgb_but_not_labels():
    """Grasp-v0 with camera observations: the default space's visual draws change the RGB
    image while segmentation and depth of the same physical state stay exact."""
    env = gymnasium.make("SimSuite/Grasp-v0", obs=("rgb", "depth", "seg"), camera={"width": 64, "height": 48})
    plain, _ = env.reset(seed=4)
    space = env.unwrapped.param_space
    look = {p.name: p.sample(np.random.default_rng(1)) for p in space if p.name.startswith(("table.", "light."))}
    look["table.texture"] = "checker"
    varied, _ = env.reset(seed=4, options={"params": look})
    assert np.abs(varied["rgb"].astype(int) - plain["rgb"].astype(int)).mean() > 2
    np.testing.assert_array_equal(varied["seg"], plain["seg"])
    np.testing.assert_array_equal(varied["depth"], plain["depth"])
    again, _ = env.reset(seed=4)  # visual values go back to nominal too
    np.testing.assert_array_equal(again["rgb"], plain["rgb"])
    env.close()


@pytest.mark.parametrize("env_id", sorted(TASKS))
def test_env_docstring_lists_the_default_space(env_id):
    """Each env docstring's Domain Randomization table is the space ``randomize=True`` samples
    (``python tools/param_docs.py`` rewrites it after a change to a family's space)."""
    module, cls_name = TASKS[env_id][0].split(":")
    space = getattr(importlib.import_module(module), cls_name)().param_space()
    doc = importlib.import_module(module).__doc__
    assert "## Domain Randomization" in doc
    assert space.markdown() in doc, f"{module}'s docstring is out of date: run python tools/param_docs.py"
    for p in space:
        assert p.describe() in doc


def test_param_describe_notation():
    assert Param("f", 0.7, 0.4, 1.0).describe() == "U(0.4, 1)"
    assert Param("m", 0.1, 0.03, 0.3, dist="loguniform").describe() == "logU(0.03, 0.3)"
    assert Param("n", 0, 0, 4, integer=True).describe() == "U{0…4}"
    assert Param("t", 1.0, 0.5, 1.5, dist="truncnormal", std=0.2).describe() == "TN(1, 0.2) in [0.5, 1.5]"
    assert Param("c", "a", dist="categorical", choices=("a", "b")).describe() == "one of `a`, `b`"


def test_per_step_noise_has_its_std_and_replays_from_the_seed():
    """observation.noise_std, actuation.noise_std and control.jitter_s (drawn in blocks from
    the env's generator): the spread asked for, fresh every step, the same again from the seed."""
    runs = []
    for params in ({}, {"observation.noise_std": 0.01}, {"observation.noise_std": 0.01}):
        env = SimEnv(PushBox(), backend="mujoco")
        env.reset(seed=5, options={"params": params})
        runs.append(np.array([env.step(np.full(2, 3.0))[0] for _ in range(300)]))
        env.close()
    clean, noisy, again = runs
    assert np.array_equal(noisy, again)
    error = noisy - clean  # observation noise leaves the physics alone
    assert abs(error.std() / 0.01 - 1.0) < 0.1 and abs(error.mean()) < 0.002, (error.std(), error.mean())
    assert not np.any(np.all(np.diff(error, axis=0) == 0.0, axis=1))  # no step reuses a draw

    from simsuite.randomization.effects import Effects

    fx = Effects(0.02, 0.005, np.full(2, -1.0), np.full(2, 1.0))
    fx.set("actuation.noise_std", 0.2)
    fx.set("control.jitter_s", 0.004)
    draws = []
    for _ in range(2):
        rng = np.random.default_rng(0)
        fx.reset()
        steps = [fx.plan_step(np.zeros(2), 4, rng) for _ in range(2000)]  # no latency: each applies at once
        assert all(first == 0 for _, first, _ in steps)
        draws.append((np.array([action for action, _, _ in steps]), np.array([n for _, _, n in steps])))
    (actions, substeps), (actions_again, substeps_again) = draws
    assert np.array_equal(actions, actions_again) and np.array_equal(substeps, substeps_again)
    assert abs(actions.std() / 0.2 - 1.0) < 0.05 and np.abs(actions).max() <= 1.0
    assert abs(substeps.mean() - 4.0) < 0.05 and substeps.std() > 0.5


def test_latency_longer_than_the_kept_actions_is_refused():
    """The env's state keeps Effects.HISTORY recent actions: a longer latency could not be
    restored from it, so it is refused by name instead of replaying wrongly."""
    from simsuite.randomization.effects import Effects

    env = SimEnv(PushBox(), backend="mujoco")
    longest = Effects.HISTORY * env.task.control_dt_s
    env.reset(seed=0, options={"params": {"actuation.latency_s": longest}})
    state = env.get_state()
    first = [env.step(np.array([1.0, 0.0]))[0] for _ in range(3)]
    env.set_state(state)
    assert np.array_equal(first, [env.step(np.array([1.0, 0.0]))[0] for _ in range(3)])
    with pytest.raises(ValueError, match=f"actuation.latency_s must be at most {Effects.HISTORY} control steps"):
        env.reset(seed=0, options={"params": {"actuation.latency_s": longest + 0.5 * env.task.control_dt_s}})
    env.close()
