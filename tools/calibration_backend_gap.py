"""What differs between the two engines for a task (issue 7, "PyBullet as the reality of the
MuJoCo model"): the same recorded PyBullet rollouts (engine-neutral states) replayed one control
step at a time on MuJoCo, and the per-entry RMS one-step difference, split by what the actions
were doing; beside it the same for MuJoCo's own rollouts replayed on MuJoCo (0 when replay is
exact) and the sensor-noise floor a real comparison would see. For Drive-v0 also three
scripted manoeuvres on each engine from the same start: full throttle, straight full braking,
steady cornering (yaw rate over the kinematic bicycle's v·tan(δ)/L).

    python tools/calibration_backend_gap.py [--env SimSuite/Drive-v0] [--rollouts 5] [--experiment designed|expert]
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

import gymnasium
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from benchmark import report  # noqa: E402

import simsuite  # noqa: E402,F401
from simsuite.agents.experts import make_expert  # noqa: E402
from simsuite.calibration.cli import SENSOR_NOISE  # noqa: E402
from simsuite.calibration.collect import collect  # noqa: E402
from simsuite.calibration.dropo import Transitions, predict  # noqa: E402
from simsuite.calibration.excitation import experiment  # noqa: E402

ENTRIES = {  # observation entries to report, by name
    "SimSuite/Drive-v0": {"lateral offset [m]": 0, "heading error [rad]": 1, "forward speed [m/s]": 5, "leftward speed [m/s]": 6,
                          "yaw rate [rad/s]": 7},
    "SimSuite/UAV-v0": {"position x [m]": 0, "velocity x [m/s]": 12, "velocity z [m/s]": 14, "body rate x [rad/s]": 15},
}
PHASES = {  # action conditions to split the transitions by
    "SimSuite/Drive-v0": {"braking": lambda a: a[:, 1] < 0, "throttle": lambda a: a[:, 1] >= 0},
}


def one_step_gap(env_id: str, rollouts: int, designed: bool) -> tuple[list[list[str]], dict]:
    """Per entry and phase: RMS of (MuJoCo replay − PyBullet record), and MuJoCo's own replay."""
    mj, pb = gymnasium.make(env_id), gymnasium.make(env_id, backend="pybullet")
    steps = int(round(5.0 / mj.unwrapped.task.control_dt_s))
    policy = (lambda: experiment(1000)) if designed else (lambda: make_expert)
    out, raw = [], {}
    for label, reality in (("PyBullet → MuJoCo", pb), ("MuJoCo → MuJoCo", mj)):
        tr = Transitions.from_rollouts(collect(reality, policy(), rollouts, steps, seed=1000, noise=0.02, portable=True), skip=1)
        err = predict(mj.unwrapped, [], np.array([]), tr) - tr.next_obs
        phases = {"all": np.ones(len(tr), bool)} | {k: f(tr.actions) for k, f in PHASES.get(env_id, {}).items()}
        for phase, sel in phases.items():
            rms = np.sqrt(np.mean(err[sel] ** 2, axis=0))
            out.append([label, f"{phase} ({sel.sum()})"] + [f"{rms[i]:.2e}" for i in ENTRIES[env_id].values()])
            raw[f"{label} {phase}"] = rms.tolist()
    noise = SENSOR_NOISE["observation.noise_std"]
    out.append(["sensor noise floor", "-"] + [f"{noise:.1e}"] * len(ENTRIES[env_id]))
    return out, raw


def drive_manoeuvres() -> list[list[str]]:
    """Full throttle 3 s, then straight full braking, and steady cornering, on each engine."""
    plans = {"throttle": [[0, 1]] * 60, "brake": [[0, 1]] * 60 + [[0, -1]] * 30, "corner": [[0, 1]] * 40 + [[0, 0]] * 10 + [[0.25, 0]] * 28}
    rows = []
    for be in ("mujoco", "pybullet"):
        env = gymnasium.make("SimSuite/Drive-v0", backend=be, obstacles=False, parked_cars=False, intersections=False)
        res = {}
        for name, plan in plans.items():
            obs, _ = env.reset(seed=3)
            trace = [obs]
            for a in plan:
                obs, _, terminated, _, _ = env.step(np.array(a, np.float32))
                trace.append(obs)
                if terminated:
                    break
            res[name] = np.array(trace)
        v, vb, c = res["throttle"][:, 5], res["brake"][:, 5], res["corner"][-1]
        wheelbase = env.unwrapped.task.car.wheelbase_m
        rows.append([be, f"{(v[60] - v[20]) / 2.0:.3f}", f"{(vb[70] - vb[80]) / 0.5:.3f}", f"{c[5]:.2f}", f"{c[7]:.4f}",
                     f"{c[7] / (c[5] * math.tan(c[8]) / wheelbase):.4f}", f"{c[6]:.4f}"])
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--env", default="SimSuite/Drive-v0", choices=sorted(ENTRIES))
    ap.add_argument("--rollouts", type=int, default=5)
    ap.add_argument("--experiment", choices=("designed", "expert"), default="designed")
    args = ap.parse_args()
    rows, raw = one_step_gap(args.env, args.rollouts, args.experiment == "designed")
    name = f"calibration_backend_gap_{args.env.split('/')[-1]}" + ("_expert" if args.experiment == "expert" else "")
    report(name, ["replay", "transitions"] + list(ENTRIES[args.env]), rows, {"rms": raw, "experiment": args.experiment})
    if args.env == "SimSuite/Drive-v0":
        report(name + "_manoeuvres", ["engine", "throttle accel 1-3 s [m/s²]", "straight braking decel [m/s²]", "cornering speed [m/s]",
                                      "yaw rate [rad/s]", "yaw rate / bicycle", "leftward speed [m/s]"], drive_manoeuvres(), {})


if __name__ == "__main__":
    main()
