"""Cost of domain randomization: reset time and step throughput with the family's full
default space on (``randomize=True``) against the same env without it, in the same process.
Bars (issue 6): ≤ 10 % of step throughput; a randomized reset under 5 ms on MuJoCo for
Grasp-v0 and UAV-v0 (only parameters change: no world rebuild).

    python tools/bench_randomization.py [--episodes 1] [--rounds 20] [--resets 200]
    python tools/bench_randomization.py --breakdown --ids SimSuite/UAV-v0 --backends mujoco
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import gymnasium
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from benchmark import paired_ratio, report  # noqa: E402

import simsuite  # noqa: E402,F401
from simsuite.agents.experts import make_expert  # noqa: E402
from simsuite.randomization.effects import EFFECT_PARAMS  # noqa: E402

IDS = ("SimSuite/Grasp-v0", "SimSuite/UAV-v0", "SimSuite/Nav-v0", "SimSuite/Drive-v0")


def make_env(env_id: str, backend: str, randomize: bool):
    # grasp/nav/drive rebuild their world on a new seed or every few episodes: keep it to time parameter resets
    options = {"rebuild_every": 10_000} if "Grasp" in env_id else {"episodes_per_plan": 10_000} if "Nav" in env_id else \
        {"episodes_per_world": 10_000} if "Drive" in env_id else {}
    env = gymnasium.make(env_id, backend=backend, randomize=randomize, **options).unwrapped
    env.reset(seed=0)
    return env


def reset_ms(env, resets: int) -> float:
    """Median wall time of a reset on the compiled world [ms]."""
    times = []
    for _ in range(resets):
        t0 = time.perf_counter()
        env.reset()
        times.append(time.perf_counter() - t0)
    return 1e3 * float(np.median(times))


class _Flight:
    """One env flown by the family's scripted expert, one timed step at a time: the expert's
    own time and the resets are outside the clock. The expert keeps episodes long and alike
    with and without randomization; random actions end them after a few dozen steps, at
    different times, and the cold first steps after each reset would then weigh differently."""

    def __init__(self, env, params: dict | None = None):
        self.env, self.params, self.spent, self.steps, self.left = env, params, 0.0, 0, 0

    def start(self, seed: int, max_steps: int) -> None:
        self.obs, _ = self.env.reset(seed=seed, options=None if self.params is None else {"params": self.params})
        self.policy, self.left = make_expert(self.env), max_steps

    def step(self) -> None:
        if not self.left:
            return
        action = self.policy(self.obs)
        t0 = time.perf_counter()
        self.obs, _, terminated, truncated, _ = self.env.step(action)
        self.spent += time.perf_counter() - t0
        self.steps, self.left = self.steps + 1, 0 if terminated or truncated else self.left - 1

    @property
    def us_per_step(self) -> float:
        return 1e6 * self.spent / max(self.steps, 1)


def fly_together(flights: list[_Flight], seed: int, max_steps: int) -> None:
    """One seeded expert episode in each env, one step each in turn, so that all see the same
    machine at every moment (its speed drifts: other processes, the host's memory daemon).
    Who steps first alternates: the step right after another env's runs on caches that the
    other left behind, and neither env gets that place every time."""
    for flight in flights:
        flight.start(seed, max_steps)
    order = list(flights)
    while any(flight.left for flight in flights):
        for flight in order:
            flight.step()
        order.reverse()


def episode_limit(env_id: str, max_steps: int) -> int:
    """``max_steps``, or the registered episode limit where that is shorter."""
    return min(max_steps, gymnasium.spec(env_id).max_episode_steps or max_steps)


def measure(env_id: str, backend: str, episodes: int, resets: int, rounds: int = 5, max_steps: int = 300) -> list[object]:
    """Reset times and step rates with randomization off and on. The two envs fly the same
    seeded episodes side by side (:func:`fly_together`), round after round; the ratio is the
    median over rounds of each round's ratio, which drops the rounds that a pause hit.
    Episodes stop at the registered limit or ``max_steps``."""
    max_steps = episode_limit(env_id, max_steps)
    envs = {flag: make_env(env_id, backend, flag) for flag in (False, True)}
    resets_ms = {flag: reset_ms(env, resets) for flag, env in envs.items()}
    best, ratios = dict.fromkeys(envs, 0.0), []
    for r in range(rounds):
        flights = {flag: _Flight(env) for flag, env in envs.items()}
        for seed in range(r * episodes, (r + 1) * episodes):
            fly_together(list(flights.values()), seed, max_steps)
        rates = {flag: 1e6 / max(flight.us_per_step, 1e-9) for flag, flight in flights.items()}
        ratios.append(rates[True] / rates[False])
        best = {flag: max(best[flag], rates[flag]) for flag in envs}
    for env in envs.values():
        env.close()
    return [env_id, backend, f"{resets_ms[False]:.2f}", f"{resets_ms[True]:.2f}", f"{best[False]:,.0f}", f"{best[True]:,.0f}",
            *paired_ratio(ratios, digits=2)]


def breakdown(env_id: str, backend: str, episodes: int = 40, max_steps: int = 200) -> list[list[object]]:
    """What each randomization effect costs on its own: the plain env and the randomized env
    with every parameter at nominal but one (latency of 0.6 control steps, which holds the
    commands back for part of each step; observation noise; wind; action noise; control-rate jitter), then all of them,
    then values drawn from the default space. The two envs fly the same seeded expert
    episodes side by side (:func:`fly_together`): the ratio holds when this machine's speed
    drifts."""
    max_steps = episode_limit(env_id, max_steps)
    plain = make_env(env_id, backend, False)
    rand = make_env(env_id, backend, True)
    nominal = {name: rand.param_space[name].nominal for name in rand.param_space.names}
    dt = rand.task.control_dt_s
    alone = {"actuation.latency_s": 0.6 * dt, "observation.noise_std": 0.005, "wind.speed_m_s": 0.5,
             "actuation.noise_std": 0.05, "control.jitter_s": 0.1 * dt}
    configs: dict[str, dict | None] = {"all at nominal": nominal}
    configs.update({f"{name} = {value:g}": {**nominal, name: value} for name, value in alone.items() if name in EFFECT_PARAMS or name in nominal})
    configs["all of the above"] = {**nominal, **{n: v for n, v in alone.items() if n in EFFECT_PARAMS or n in nominal}}
    configs["drawn from the default space"] = None
    rows = []
    for label, params in configs.items():
        a, b = _Flight(plain), _Flight(rand, params)
        for seed in range(episodes):
            fly_together([a, b], seed, max_steps)
        rows.append([env_id, backend, label, f"{a.us_per_step:.1f}", f"{b.us_per_step:.1f}", f"{a.us_per_step / b.us_per_step:.3f}"])
        print(*rows[-1], flush=True)
    plain.close()
    rand.close()
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--episodes", type=int, default=1, help="expert episodes per timed round")
    ap.add_argument("--rounds", type=int, default=20)
    ap.add_argument("--resets", type=int, default=200)
    ap.add_argument("--backends", nargs="+", default=["mujoco", "pybullet"])
    ap.add_argument("--ids", nargs="+", default=list(IDS))
    ap.add_argument("--breakdown", action="store_true", help="price each effect alone, step by step, instead")
    args = ap.parse_args()
    if args.breakdown:
        rows = [row for env_id in args.ids for backend in args.backends for row in breakdown(env_id, backend)]
        report("randomization_breakdown", ["env", "backend", "randomized with", "µs/step off", "µs/step on", "ratio"], rows)
        return
    rows = []
    for env_id in args.ids:
        for backend in args.backends:
            rows.append(measure(env_id, backend, args.episodes, args.resets, args.rounds))
            print(*rows[-1], flush=True)
    report("randomization", ["env", "backend", "reset ms", "reset ms rand", "best steps/s", "best steps/s rand", "ratio", "ratio IQR"], rows)


if __name__ == "__main__":
    main()
