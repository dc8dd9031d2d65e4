"""Calibration: real (or proxy-real) rollouts in, a fitted parameter distribution out."""

from simsuite.calibration.rollouts import Rollout, RolloutError, load_rollout, load_rollouts

__all__ = ["Rollout", "RolloutError", "load_rollout", "load_rollouts"]
