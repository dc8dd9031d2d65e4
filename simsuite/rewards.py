"""Shaped reward helpers shared by the task families (after dm_control's ``rewards.tolerance``)."""

from __future__ import annotations

import math


def tolerance(x: float, bounds: tuple[float, float] = (0.0, 0.0), margin: float = 0.0, value_at_margin: float = 0.1) -> float:
    """1 inside ``bounds``; outside, a Gaussian falloff that equals ``value_at_margin``
    at distance ``margin`` from the nearest bound (0 outside when margin is 0).
    Keeps every shaped term in [0, 1] and reads like the intent."""
    lo, hi = bounds
    if lo <= x <= hi:
        return 1.0
    if margin <= 0:
        return 0.0
    d = (lo - x if x < lo else x - hi) / margin
    scale = math.sqrt(-2.0 * math.log(value_at_margin))
    return math.exp(-0.5 * (d * scale) ** 2)
