"""Domain randomization: named, bounded parameters (:class:`ParamSpace`) sampled at each
reset and applied by name to the engine, the task, the sensors, the renderer and the env's
own effects (latency, noise, jitter). See ``issues show 6`` and DESIGN.md rule 4."""

from simsuite.randomization.space import DISTRIBUTIONS, Param, ParamError, ParamSpace, Value, visual_params

__all__ = ["DISTRIBUTIONS", "Param", "ParamError", "ParamSpace", "Value", "resolve_space", "visual_params"]


def resolve_space(randomize, default: ParamSpace) -> tuple[ParamSpace, bool]:
    """(space, sample at reset?) from ``randomize=``: False/True (the task's default space),
    a file path, or a ParamSpace."""
    from pathlib import Path

    if randomize is False or randomize is None:
        return default, False
    if randomize is True:
        return default, True
    if isinstance(randomize, ParamSpace):
        return randomize, True
    if isinstance(randomize, (str, Path)):
        return ParamSpace.load(randomize), True
    raise ParamError(f"randomize must be True, False, a ParamSpace or a path to a .yaml/.json file, got {randomize!r}")


def __getattr__(name: str):
    if name == "RandomizeParams":
        from simsuite.randomization.wrapper import RandomizeParams

        return RandomizeParams
    raise AttributeError(name)
