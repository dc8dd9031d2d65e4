"""Route named parameter values to what applies them, and restore nominal values.

A name is applied by the first owner that knows it: the env's own effects
(:mod:`~simsuite.randomization.effects`), a sensor (``<sensor>.<config field>``, e.g.
``imu.gyro_noise_density``), the task (``motor.kf``), the renderer's appearance
(``<body>.color_r``, ``light.intensity``), then the backend (``cube_0.mass_kg``,
``floor.friction``). ``gravity.z_m_s2`` sets the backend's gravity vector to (0, 0, z).
A :class:`~simsuite.randomization.space.Param` with ``targets`` drives every matching name.
"""

from __future__ import annotations

import fnmatch
from typing import Any, Callable, Iterable, Mapping

from simsuite.randomization.effects import EFFECT_PARAMS
from simsuite.randomization.space import ParamError, ParamSpace, Value, unknown_message

Setter = Callable[[Value], None]
Getter = Callable[[], Value]


class Applier:
    """Knows every applicable name of one compiled world and keeps nominal values so that
    a parameter no longer set goes back to nominal at the next reset."""

    def __init__(self, owners: Mapping[str, tuple[Getter, Setter]]):
        self.owners = dict(owners)
        self._nominal: dict[str, Value] = {}  # engine name -> value before SimSuite first changed it
        self._in_force: dict[str, Value] = {}
        self._expanded: dict[tuple[str, tuple[str, ...]], list[str]] = {}  # glob matches, per owners

    def expand(self, name: str, targets: Iterable[str] = ()) -> list[str]:
        """The engine names a parameter drives (globs matched against known names; the
        matches are kept until :meth:`rebind`, since every reset asks again)."""
        key = (name, tuple(targets))
        hits = self._expanded.get(key)
        if hits is None:
            hits = self._expanded[key] = self._match(name, key[1])
        return hits

    def _match(self, name: str, targets: tuple[str, ...]) -> list[str]:
        patterns = list(targets) or [name]
        out: list[str] = []
        for pattern in patterns:
            if any(c in pattern for c in "*?["):
                hits = fnmatch.filter(self.owners, pattern)
                if not hits:
                    raise ParamError(f"parameter {name!r}: target {pattern!r} matches no parameter of this world")
                out += hits
            elif pattern in self.owners:
                out.append(pattern)
            else:
                raise ParamError(f"parameter {name!r}: " + unknown_message(pattern, self.owners))
        return out

    def apply(self, values: Mapping[str, Value], space: ParamSpace | None) -> None:
        """Set ``values`` (parameter names of ``space`` or engine names); everything set
        earlier and absent now returns to nominal. Only changed values are written."""
        wanted: dict[str, Value] = {}
        for name, value in values.items():
            targets = space.params[name].targets if space is not None and name in space else ()
            for target in self.expand(name, targets):
                wanted[target] = value
        for target in list(self._in_force):
            if target not in wanted:
                wanted[target] = self._nominal[target]
        for target, value in wanted.items():
            if target in self._in_force and self._in_force[target] == value:
                continue
            getter, setter = self.owners[target]
            if target not in self._nominal:
                self._nominal[target] = _plain(getter())
            try:
                setter(value)
            except (ValueError, TypeError, KeyError) as exc:
                raise ParamError(f"cannot set {target} = {value!r}: {exc}") from None
            if value == self._nominal[target]:
                self._in_force.pop(target, None)
            else:
                self._in_force[target] = value

    def rebind(self, owners: Mapping[str, tuple[Getter, Setter]], fresh: Iterable[str]) -> None:
        """A new world was compiled: ``fresh`` names (engine, appearance) are back at their
        nominal values, and names of the old world that the new one lacks are dropped."""
        self.owners = dict(owners)
        self._expanded.clear()
        fresh = set(fresh)
        for name in list(self._nominal):
            if name in fresh or name not in self.owners:
                self._in_force.pop(name, None)
                self._nominal.pop(name, None)


def _plain(value: Any) -> Value:
    return value if isinstance(value, str) else float(value)


def effect_owners(effects) -> dict[str, tuple[Getter, Setter]]:
    return {n: ((lambda n=n: effects.values[n]), (lambda v, n=n: effects.set(n, float(v)))) for n in EFFECT_PARAMS}


def backend_owners(backend) -> dict[str, tuple[Getter, Setter]]:
    owners = {n: ((lambda n=n: backend.get_param(n)), (lambda v, n=n: backend.set_param(n, float(v))))
              for n in backend.param_names() if n != "gravity"}
    owners["gravity.z_m_s2"] = (lambda: float(backend.get_param("gravity")[2]), lambda v: backend.set_param("gravity", (0.0, 0.0, float(v))))
    return owners


def sensor_owners(sensors) -> dict[str, tuple[Getter, Setter]]:
    owners: dict[str, tuple[Getter, Setter]] = {}
    for sensor in sensors or ():
        for field in sensor.TUNABLE:
            owners[f"{sensor.name}.{field}"] = (
                (lambda s=sensor, f=field: getattr(s.config, f)),
                (lambda v, s=sensor, f=field: s.configure(**{f: float(v)})),
            )
    return owners


def task_owners(task) -> dict[str, tuple[Getter, Setter]]:
    return {n: ((lambda n=n: task.get_param(n)), (lambda v, n=n: task.set_param(n, float(v)))) for n in task.param_names()}
