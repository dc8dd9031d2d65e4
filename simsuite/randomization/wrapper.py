"""The wrapper form of randomization, for an env made without ``randomize=``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import gymnasium

from simsuite.randomization.space import ParamError, ParamSpace


class RandomizeParams(gymnasium.Wrapper):
    """Draws ``space`` at each reset from the env's own generator and passes the values
    as ``reset(options={"params": ...})``; exact values given by the caller win.

    Example::

        env = RandomizeParams(gymnasium.make("SimSuite/UAV-v0"), "fitted.yaml")
    """

    def __init__(self, env: gymnasium.Env, space: ParamSpace | str | Path):
        super().__init__(env)
        self.space = space if isinstance(space, ParamSpace) else ParamSpace.load(space)
        if not hasattr(env.unwrapped, "param_space"):
            raise ParamError(f"RandomizeParams needs a SimSuite env, got {type(env.unwrapped).__name__}")

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        if seed is not None:  # seed the env's generator first, so that draws replay
            self.env.unwrapped._np_random, _ = gymnasium.utils.seeding.np_random(seed)
        options = dict(options or {})
        values = self.space.sample(self.env.unwrapped.np_random)
        values.update(self.space.validate({k: v for k, v in options.get("params", {}).items() if k in self.space}))
        values.update({k: v for k, v in options.get("params", {}).items() if k not in self.space})
        return self.env.reset(seed=None, options={**options, "params": values})
