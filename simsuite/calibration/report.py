"""The calibration report: the fitted distribution file, plots and a Markdown summary."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from simsuite.calibration.dropo import FitResult, Transitions, WorldCache, predict
from simsuite.calibration.rollouts import Rollout
from simsuite.calibration.simopt import Segments, replay


def one_step_error(env, names: Sequence[str], values: Mapping[str, float], transitions: Transitions,
                   dims: Sequence[int] | None = None) -> float:
    """RMS one-step prediction error [obs units] from the real states under given values
    (over the observation entries ``dims``, default all)."""
    vec = np.array([float(values[n]) for n in names])
    pred = predict(env.unwrapped, list(names), vec, transitions)
    sel = slice(None) if dims is None else np.asarray(dims)
    return float(np.sqrt(np.mean((pred[:, sel] - transitions.next_obs[:, sel]) ** 2)))


def trajectory_error(env, values: Mapping[str, float], rollouts: Sequence[Rollout], segment_steps: int,
                     dims: Sequence[int] | None = None) -> float:
    """RMS observation error [obs units] of the simulator replaying the real actions open loop
    over segments of ``segment_steps``, each restarted from the real state (SimOpt's
    segment-wise re-synchronization; a rollout without states is replayed whole from its
    seeded reset): the trajectory discrepancy, where one-step errors are too small to show
    drift. ``dims``: the observation entries compared (default all)."""
    segments = Segments.from_rollouts(rollouts, segment_steps)
    sel = np.arange(segments.obs[0].shape[1]) if dims is None else np.asarray(dims)
    return math.sqrt(float(np.mean((_replay(env, values, segments, sel) - segments.target(sel)) ** 2)))


def _replay(env, values: Mapping[str, float], segments: Segments, sel: np.ndarray) -> np.ndarray:
    """:func:`~simsuite.calibration.simopt.replay` under named parameter values."""
    return replay(WorldCache(env=env), list(values), np.array([float(v) for v in values.values()]), segments, sel)


def plot_trajectories(path: Path, env, rollout: Rollout, segment_steps: int, runs: Mapping[str, Mapping[str, float]],
                      dims: Sequence[int] | None = None, entries: int = 6) -> Path:
    """One real rollout against the simulator's replays of it under each of ``runs`` (label ->
    parameter values), segment by segment as :func:`trajectory_error` compares them: the
    ``entries`` observation entries that the first run misses most, over time."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    segments = Segments.from_rollouts([rollout], segment_steps)
    sel = np.arange(segments.obs[0].shape[1]) if dims is None else np.asarray(dims)
    real = segments.target(sel)
    sims = {label: _replay(env, values, segments, sel) for label, values in runs.items()}
    first = next(iter(sims.values()))
    worst = np.argsort(-np.sqrt(np.mean((first - real) ** 2, axis=0)))[:entries]
    t_s = rollout.t_s[1:len(real) + 1] - rollout.t_s[0]
    fig, axes = plt.subplots(len(worst), 1, figsize=(8, 1.5 * len(worst) + 0.6), sharex=True, squeeze=False)
    for ax, j in zip(axes[:, 0], worst):
        ax.plot(t_s, real[:, j], color="k", lw=1.0, zorder=5, label="real")
        for k, (label, sim) in enumerate(sims.items()):
            ax.plot(t_s, sim[:, j], lw=1.8 if k == 1 else 1.0, ls="--" if k == 0 else "-", label=label)
        if segments.starts[0] is not None:  # where each replay restarts from the real state
            for b in range(segment_steps, len(real), segment_steps):
                ax.axvline(t_s[b - 1], color="0.85", lw=0.6, zorder=-1)
        ax.set_ylabel(f"obs[{sel[j]}]", fontsize=8)
    axes[0, 0].legend(fontsize=7, ncol=len(sims) + 1, loc="upper right")
    axes[-1, 0].set_xlabel("time [s]")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def write_report(out: Path, env_id: str, result: FitResult, truth: Mapping[str, float] | None,
                 errors: Mapping[str, float], meta: Mapping[str, Any]) -> Path:
    """``fitted.yaml`` (readable by ``randomize=``), ``convergence.png``, ``marginals.png`` and
    ``report.md`` in ``out``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out.mkdir(parents=True, exist_ok=True)
    result.space().save(out / "fitted.yaml", meta={"env_id": env_id, "method": "cmaes-dropo", **dict(meta)})
    names = result.names
    fig, axes = plt.subplots(1, len(names), figsize=(3.2 * len(names), 2.8), squeeze=False)
    gens = [h["generation"] for h in result.history]
    for ax, name in zip(axes[0], names):
        p = result.prior[name]
        m = np.array([h["mean"][name] for h in result.history])
        s = np.array([h["std"][name] for h in result.history])
        ax.plot(gens, m, color="C0", label="fitted mean")
        ax.fill_between(gens, m - s, m + s, color="C0", alpha=0.25, label="±1σ")
        ax.axhspan(p.low, p.high, color="0.9", zorder=-1, label="prior")
        if truth and name in truth:
            ax.axhline(truth[name], color="C3", ls="--", label="truth (proxy)")
        ax.set_title(name, fontsize=9)
        ax.set_xlabel("CMA-ES generation")
        ax.set_ylabel(p.unit or "value")
    axes[0][0].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(out / "convergence.png", dpi=110)
    plt.close(fig)

    fig, axes = plt.subplots(1, len(names), figsize=(3.2 * len(names), 2.6), squeeze=False)
    for ax, name in zip(axes[0], names):
        p = result.prior[name]
        x = np.linspace(p.low, p.high, 300)
        mu, sd = result.mean[name], max(result.std[name], 1e-12)
        ax.plot(x, np.exp(-0.5 * ((x - mu) / sd) ** 2) / (sd * math.sqrt(2 * math.pi)), label="fitted")
        ax.plot(x, np.full_like(x, 1 / (p.high - p.low)), color="0.5", label="prior (uniform)")
        if truth and name in truth:
            ax.axvline(truth[name], color="C3", ls="--", label="truth")
        ax.set_title(name, fontsize=9)
        ax.set_xlabel(p.unit or "value")
        ax.set_yticks([])
    axes[0][0].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(out / "marginals.png", dpi=110)
    plt.close(fig)

    lines = [f"# Calibration of {env_id}", "",
             f"Method: {meta.get('method', 'CMA-ES over truncated-normal (μ, log σ), DROPO one-step likelihood')}. "
             f"{result.evaluations:,} candidates or simulations, {result.sim_steps:,} simulated control steps, {result.wall_s:.0f} s wall-clock.",
             f"Data: {meta.get('data', '')}", "",
             "| parameter | unit | prior | fitted mean ± σ | truth | rel. error | identified |", "|---|---|---|---|---|---|---|"]
    posterior = "NPE" in str(meta.get("method", ""))

    def identified(name: str) -> str:
        if not posterior and name in result.likelihood_share:  # DROPO's σ is a spread, not an uncertainty: the slice is
            share = result.likelihood_share[name]
            return (f"yes: the likelihood slice rules out {1 - share:.0%} of the prior" if result.identifiable(name) else
                    f"no: the data cannot tell values apart across {share:.0%} of the prior")
        if not posterior:
            return "(use --method npe)"
        interval = getattr(result, "intervals", {}).get(name)
        where = f" (90 % HPD {interval[0]:.4g} to {interval[1]:.4g})" if interval else ""
        return ("yes" if result.identifiable(name) else "no: about as wide as the prior") + where

    for name in names:
        p = result.prior[name]
        mu, sd = result.mean[name], result.std[name]
        t = truth.get(name) if truth else None
        rel = "" if t is None else (f"{abs(mu - t) * 1e3:.1f} ms (abs)" if name.endswith("latency_s") else f"{abs(mu - t) / abs(t) * 100:.1f} %")
        lines.append(f"| {name} | {p.unit} | [{p.low:.4g}, {p.high:.4g}] | {mu:.4g} ± {sd:.2g} | {'' if t is None else f'{t:.4g}'} | {rel} | "
                     f"{identified(name)} |")
    if errors:  # rollouts without states have no one-step replays
        lines += ["", "One-step prediction error from the real states (RMS, observation units):", ""]
        lines += [f"- {k}: {v:.5f}" for k, v in errors.items()]
    lines += ["", "![convergence](convergence.png)", "", "![marginals](marginals.png)", "",
              "`fitted.yaml` is the fitted distribution: `gymnasium.make(env_id, randomize=\"fitted.yaml\")`."]
    (out / "report.md").write_text("\n".join(lines) + "\n")
    return out / "report.md"
