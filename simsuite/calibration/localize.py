"""A least-squares point estimate of simulator parameters from one-step replays, used to
start CMA-ES near the optimum and to bound NPE's simulation box.

Levenberg-Marquardt on the noise-free one-step predictions f(θ) against the real next
observations, in normalized parameters θ ∈ [0, 1]^d (the prior's box), with central-difference
Jacobians. The step of a parameter is never finer than its resolution: latency acts in whole
physics steps, so its cost is a staircase that a fine difference reads as flat.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import gymnasium
import numpy as np

FD_STEP = 0.02  # finite-difference half-step, as a fraction of the prior's width
ITERATIONS = 8

Predict = Callable[[list[np.ndarray]], list[np.ndarray]]  # normalized points -> flat noise-free predictions


@dataclass
class LeastSquares:
    center: np.ndarray  # θ̂, normalized
    prediction: np.ndarray  # f(θ̂)
    jacobian: np.ndarray  # ∂f/∂θ at θ̂, normalized units
    simulations: int  # parameter sets simulated

    def laplace_std(self, noise_std: float) -> np.ndarray:
        """Standard deviations of the Gaussian approximation σ²(JᵀJ)⁻¹ (normalized units)."""
        info = self.jacobian.T @ self.jacobian / noise_std**2
        return np.sqrt(np.diag(np.linalg.pinv(info + 1e-9 * np.eye(len(self.center)))))


def fd_steps(make_env: Callable[[], gymnasium.Env], names: Sequence[str], lows: np.ndarray,
             highs: np.ndarray) -> tuple[np.ndarray, list[int]]:
    """Half-steps (normalized): :data:`FD_STEP`, or a parameter's resolution where coarser;
    and the indices of the parameters that have a resolution (their cost is a staircase)."""
    env = make_env().unwrapped
    env.reset(seed=0)
    resolution = {"actuation.latency_s": env.physics_dt_s}
    env.close()
    steps = np.array([max(FD_STEP, resolution.get(n, 0.0) / (hi - lo)) for n, lo, hi in zip(names, lows, highs)])
    return steps, [i for i, n in enumerate(names) if n in resolution]


def jacobian(predict: Predict, center: np.ndarray, steps: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """f(center) and its central-difference Jacobian (one-sided at a bound): 2d + 1 simulations."""
    points = [center]
    for i in range(len(center)):
        for sign in (1, -1):
            p = center.copy()
            p[i] = np.clip(p[i] + sign * steps[i], 0.0, 1.0)
            points.append(p)
    preds = predict(points)
    jac = np.stack([(preds[1 + 2 * i] - preds[2 + 2 * i]) / (points[1 + 2 * i][i] - points[2 + 2 * i][i])
                    for i in range(len(center))], axis=1)
    return preds[0], jac


def least_squares(predict: Predict, target: np.ndarray, steps: np.ndarray, iterations: int = ITERATIONS,
                  quantized: Sequence[int] = (), grid: int = 0) -> LeastSquares:
    """Levenberg-Marquardt from the prior's centre; stops when a step moves less than a fifth
    of the finest difference step. ``quantized``: indices of parameters whose cost is a
    staircase (latency): each is first scanned over its levels (every ``steps[i]``) with the
    others held, and scanned again after the descent, which then restarts from the best level
    (a gradient step cannot cross a wrong step of the staircase). ``grid`` > 0: start instead
    from the best of a full grid of that many points per parameter across the prior
    (``grid``^d simulations): contact-rich replays (Grasp) have a jagged cost whose basin
    around the truth is a fraction of the prior wide, and a descent from the centre stops in
    another one."""
    center, used = np.full(len(steps), 0.5), 0
    if grid > 0:
        axes = np.meshgrid(*[np.linspace(0.0, 1.0, grid)] * len(steps), indexing="ij")
        points = list(np.stack([a.ravel() for a in axes], axis=1))
        costs = [float(np.sum((target - f) ** 2)) for f in predict(points)]
        center, used = points[int(np.argmin(costs))].copy(), len(points)
    for _ in range(2 if quantized else 1):
        for i in quantized:
            center, n = _scan(predict, target, center, i, steps[i])
            used += n
        fit = _descend(predict, target, steps, center, iterations)
        center, used = fit.center, used + fit.simulations
    return LeastSquares(fit.center, fit.prediction, fit.jacobian, used)


def _scan(predict: Predict, target: np.ndarray, center: np.ndarray, i: int, step: float) -> tuple[np.ndarray, int]:
    """The level of parameter ``i`` (0, step, 2·step, ... 1) with the least cost, others held."""
    points = []
    for level in np.unique(np.clip(np.arange(0.0, 1.0 + step, step), 0.0, 1.0)):
        p = center.copy()
        p[i] = level
        points.append(p)
    costs = [float(np.sum((target - f) ** 2)) for f in predict(points)]
    return points[int(np.argmin(costs))], len(points)


def _descend(predict: Predict, target: np.ndarray, steps: np.ndarray, center: np.ndarray, iterations: int) -> LeastSquares:
    damping = 1e-2
    f0, jac = jacobian(predict, center, steps)
    used, cost = 1 + 2 * len(steps), float(np.sum((target - f0) ** 2))
    for _ in range(iterations):
        jtj, grad = jac.T @ jac, jac.T @ (target - f0)
        trial = np.clip(center + np.linalg.solve(jtj + damping * np.diag(np.diag(jtj) + 1e-12), grad), 0.0, 1.0)
        f_trial = predict([trial])[0]
        used += 1
        trial_cost = float(np.sum((target - f_trial) ** 2))
        if trial_cost < cost:
            moved = float(np.abs(trial - center).max())
            center, cost, damping = trial, trial_cost, damping / 3
            f0, jac = jacobian(predict, center, steps)
            used += 1 + 2 * len(steps)
            if moved < 0.2 * steps.min():
                break
        else:
            damping *= 10
    return LeastSquares(center, f0, jac, used)


PROFILE_POINTS = 9  # grid points across the prior per parameter
PROFILE_DELTA = 2.0  # log-likelihood drop that still counts as consistent with the data (≈ a 95 % interval in 1-D)


def likelihood_share(predict: Predict, target: np.ndarray, center: np.ndarray, noise_std: float,
                     points: int = PROFILE_POINTS) -> np.ndarray:
    """Per parameter, the share of its prior (normalized [0, 1]) where the noise-free one-step
    fit is within :data:`PROFILE_DELTA` of the best log-likelihood on a grid across the prior,
    the others held at ``center``: near 1 the data cannot tell the parameter's values apart.
    Unlike the Laplace width this needs no smooth cost: contact-rich replays (Grasp) jump with
    a parameter where a contact flips, and a finite-difference slope there claims precision
    the data do not have. It is a slice, not a profile (the others are not refitted): in a
    jagged cost a slice through a wrong optimum can rule out the truth, so a small share is a
    necessary sign of identification, not a proof. ``d·points`` simulations."""
    grid = np.linspace(0.0, 1.0, points)
    pts = []
    for i in range(len(center)):
        for g in grid:
            p = center.copy()
            p[i] = g
            pts.append(p)
    loglik = -0.5 * np.array([float(np.sum((target - f) ** 2)) for f in predict(pts)]) / noise_std**2
    loglik = loglik.reshape(len(center), points)
    ok = loglik >= loglik.max(axis=1, keepdims=True) - PROFILE_DELTA
    return ok.mean(axis=1)
