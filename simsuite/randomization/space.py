"""ParamSpace: named, bounded parameters and their distributions (DESIGN.md rule 4).

Randomization samples a ParamSpace at each reset; calibration fits one; the env applies
the values by name. A parameter is a scalar (a number or, for ``categorical``, a choice
such as a texture name) with a unit, a nominal value, bounds and a distribution:

============== ===================================================================
``uniform``     U(low, high)
``loguniform``  exp(U(log low, log high)); for scale-like quantities (mass, gains)
``normal``      N(mean, std) clipped to [low, high]
``truncnormal`` N(mean, std) conditioned on [low, high] (what calibration writes)
``categorical`` one of ``choices`` (numbers or strings), with optional ``weights``
``fixed``       always ``nominal``
============== ===================================================================

``targets`` lets one parameter drive several engine names at once, with ``*`` globs
(``tyre.friction`` → ``ego_wheel_*.friction``); without it the name itself is applied.

Files are YAML (or JSON, by suffix) with one entry per parameter under ``params:``::

    params:
      floor.friction: {dist: uniform, low: 0.4, high: 1.0, nominal: 0.8, unit: "1", doc: "..."}

Loading validates every field and names the bad one.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Iterable, Iterator, Mapping, Sequence

import numpy as np

DISTRIBUTIONS = ("uniform", "loguniform", "normal", "truncnormal", "categorical", "fixed")
_FIELDS = ("dist", "nominal", "low", "high", "mean", "std", "choices", "weights", "unit", "doc", "targets", "integer")
Value = float | str


class ParamError(ValueError):
    """A malformed parameter, space file or value; the message names the field."""


@dataclass(frozen=True)
class Param:
    """One named, bounded parameter. See the module docstring for the distributions."""

    name: str
    nominal: Value
    low: float = math.nan
    high: float = math.nan
    dist: str = "uniform"
    mean: float | None = None  # normal/truncnormal; default nominal
    std: float | None = None  # normal/truncnormal
    choices: tuple[Value, ...] = ()
    weights: tuple[float, ...] = ()
    unit: str = ""
    doc: str = ""
    targets: tuple[str, ...] = ()  # engine names it drives (globs allowed); default (name,)
    integer: bool = False  # sample rounded to whole numbers (counts)

    def __post_init__(self) -> None:
        where = f"parameter {self.name!r}"
        if not isinstance(self.name, str) or not self.name or any(c.isspace() for c in self.name):
            raise ParamError(f"parameter name must be a non-empty string without spaces, got {self.name!r}")
        if self.dist not in DISTRIBUTIONS:
            raise ParamError(f"{where}: field 'dist' must be one of {DISTRIBUTIONS}, got {self.dist!r}")
        object.__setattr__(self, "choices", tuple(self.choices))
        object.__setattr__(self, "weights", tuple(float(w) for w in self.weights))
        object.__setattr__(self, "targets", tuple(self.targets))
        if self.dist == "categorical":
            self._check_categorical(where)
        else:
            self._check_numeric(where)

    def _check_categorical(self, where: str) -> None:
        if not self.choices:
            raise ParamError(f"{where}: field 'choices' must list at least one value for dist 'categorical'")
        if self.nominal not in self.choices:
            raise ParamError(f"{where}: field 'nominal' {self.nominal!r} is not among choices {list(self.choices)}")
        if self.weights and (len(self.weights) != len(self.choices) or min(self.weights) < 0 or sum(self.weights) <= 0):
            raise ParamError(f"{where}: field 'weights' needs one non-negative weight per choice, summing > 0")

    def _check_numeric(self, where: str) -> None:
        for key in ("nominal", "low", "high"):
            v = getattr(self, key)
            if isinstance(v, bool) or not isinstance(v, (int, float, np.floating, np.integer)):
                raise ParamError(f"{where}: field {key!r} must be a number, got {v!r}")
            object.__setattr__(self, key, float(v))
        if self.dist == "fixed" and math.isnan(self.low):
            object.__setattr__(self, "low", self.nominal)
            object.__setattr__(self, "high", self.nominal)
        lo, hi, nom = self.low, self.high, self.nominal
        if not (math.isfinite(lo) and math.isfinite(hi) and math.isfinite(nom)):
            raise ParamError(f"{where}: fields 'low', 'high' and 'nominal' must be finite numbers, got {lo}, {hi}, {nom}")
        if lo > hi:
            raise ParamError(f"{where}: field 'low' ({lo}) is above 'high' ({hi})")
        if not lo <= nom <= hi:
            raise ParamError(f"{where}: bounds [{lo}, {hi}] exclude the nominal value {nom}")
        if self.dist == "loguniform" and lo <= 0:
            raise ParamError(f"{where}: field 'low' must be > 0 for dist 'loguniform', got {lo}")
        if self.dist in ("normal", "truncnormal"):
            if self.std is None or not (math.isfinite(self.std) and self.std > 0):
                raise ParamError(f"{where}: field 'std' must be a finite number > 0 for dist {self.dist!r}, got {self.std!r}")
            mean = nom if self.mean is None else self.mean
            if not math.isfinite(mean):
                raise ParamError(f"{where}: field 'mean' must be finite, got {mean!r}")
            object.__setattr__(self, "mean", float(mean))
            object.__setattr__(self, "std", float(self.std))

    @property
    def numeric(self) -> bool:
        return self.dist != "categorical"

    def sample(self, rng: np.random.Generator) -> Value:
        """One draw from the env's generator."""
        d = self.dist
        if d == "fixed":
            v = self.nominal
        elif d == "uniform":
            v = rng.uniform(self.low, self.high)
        elif d == "loguniform":
            v = math.exp(rng.uniform(math.log(self.low), math.log(self.high)))
        elif d == "normal":
            v = min(max(rng.normal(self.mean, self.std), self.low), self.high)
        elif d == "truncnormal":
            v = _truncnormal(rng, self.mean, self.std, self.low, self.high)
        else:
            p = np.asarray(self.weights) / sum(self.weights) if self.weights else None
            return self.choices[int(rng.choice(len(self.choices), p=p))]
        return float(round(v)) if self.integer else float(v)

    def check(self, value: Any) -> Value:
        """``value`` if it is allowed for this parameter, else a :class:`ParamError`."""
        if not self.numeric:
            if value not in self.choices:
                raise ParamError(f"{self.name} = {value!r} is not among its choices {list(self.choices)}")
            return value
        try:
            v = float(value)
        except (TypeError, ValueError):
            raise ParamError(f"{self.name} must be a number, got {value!r}") from None
        if not math.isfinite(v):
            raise ParamError(f"{self.name} must be finite, got {value!r}")
        if not self.low - 1e-12 * max(1.0, abs(self.low)) <= v <= self.high + 1e-12 * max(1.0, abs(self.high)):
            raise ParamError(f"{self.name} = {v} is outside its bounds [{self.low}, {self.high}] {self.unit}".rstrip())
        return v

    def describe(self) -> str:
        """The distribution in the notation of the family spaces' comments: ``U(0.4, 1)``."""
        g = _num
        if self.dist == "categorical":
            return "one of " + ", ".join(f"`{c}`" for c in self.choices)
        if self.dist == "fixed":
            return f"fixed at {g(self.nominal)}"
        if self.integer and self.dist == "uniform":
            return f"U{{{int(self.low)}…{int(self.high)}}}"
        if self.dist in ("uniform", "loguniform"):
            return f"{'U' if self.dist == 'uniform' else 'logU'}({g(self.low)}, {g(self.high)})"
        kind = "N" if self.dist == "normal" else "TN"
        return f"{kind}({g(self.mean)}, {g(self.std)}) in [{g(self.low)}, {g(self.high)}]"

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"dist": self.dist, "nominal": self.nominal}
        if self.numeric:
            out.update(low=self.low, high=self.high)
        if self.dist in ("normal", "truncnormal"):
            out.update(mean=self.mean, std=self.std)
        if self.choices:
            out["choices"] = list(self.choices)
        if self.weights:
            out["weights"] = list(self.weights)
        for key in ("unit", "doc"):
            if getattr(self, key):
                out[key] = getattr(self, key)
        if self.targets:
            out["targets"] = list(self.targets)
        if self.integer:
            out["integer"] = True
        return out

    @classmethod
    def from_dict(cls, name: str, spec: Mapping[str, Any]) -> "Param":
        if not isinstance(spec, Mapping):
            raise ParamError(f"parameter {name!r}: expected a mapping of fields, got {type(spec).__name__}")
        unknown = sorted(set(spec) - set(_FIELDS))
        if unknown:
            raise ParamError(f"parameter {name!r}: unknown field(s) {unknown}; allowed {list(_FIELDS)}")
        if "nominal" not in spec:
            raise ParamError(f"parameter {name!r}: missing field 'nominal'")
        kwargs = dict(spec)
        for key in ("choices", "weights", "targets"):
            if key in kwargs and not isinstance(kwargs[key], (list, tuple)):
                raise ParamError(f"parameter {name!r}: field {key!r} must be a list, got {kwargs[key]!r}")
        return cls(name=name, **kwargs)


TEXTURES = ("none", "checker", "noise", "gradient")


def _num(x: Value) -> str:
    """A number for people: four significant digits, no trailing zeros."""
    return f"{x:.4g}" if isinstance(x, (int, float)) else str(x)


def visual_params(surface: str, rgb: tuple[float, float, float], light_azimuth_rad: float, light_elevation_rad: float,
                  max_distractors: int = 4) -> list[Param]:
    """The visual part of a family's default space: one surface's colour and texture, the key
    light, camera jitter and distractors (ranges after Tobin et al. 2017)."""
    doc = {"r": "red", "g": "green", "b": "blue"}
    return [
        # Surface colour: U(0, 1) per channel, and texture none/checker/noise/gradient: unseen surfaces
        *(Param(f"{surface}.color_{c}", v, 0.0, 1.0, doc=f"{surface} {doc[c]}") for c, v in zip("rgb", rgb)),
        Param(f"{surface}.texture", "none", dist="categorical", choices=TEXTURES, doc=f"{surface} pattern"),
        # Key light: azimuth U(±π), elevation U(0.3, 1.4) rad, intensity U(0.5, 1.5)
        Param("light.azimuth_rad", light_azimuth_rad, -np.pi, np.pi, unit="rad", doc="key light heading"),
        Param("light.elevation_rad", light_elevation_rad, 0.3, 1.4, unit="rad", doc="key light height"),
        Param("light.intensity", 1.0, 0.5, 1.5, doc="key light brightness"),
        # Camera: field of view U(±3)°, position U(±2 cm): mounting and calibration error
        Param("camera.dfov_deg", 0.0, -3.0, 3.0, unit="deg", doc="field-of-view jitter"),
        *(Param(f"camera.d{a}_m", 0.0, -0.02, 0.02, unit="m", doc=f"camera {a} offset") for a in "xyz"),
        # Distractors: 0–N floating shapes with their own segmentation ids
        Param("distractors.count", 0, 0, max_distractors, integer=True, doc="visual-only shapes"),
        Param("distractors.seed", 0, 0, 2**31 - 1, integer=True, doc="their placement"),
    ]


def _truncnormal(rng: np.random.Generator, mean: float, std: float, low: float, high: float) -> float:
    """N(mean, std) conditioned on [low, high], by inverting the CDF (exact, one draw)."""
    if low == high:
        return low
    from scipy.special import ndtr, ndtri

    a, b = ndtr((low - mean) / std), ndtr((high - mean) / std)
    if b - a < 1e-12:  # all mass outside the bounds: the nearest bound
        return low if mean < low else high
    return float(min(max(mean + std * ndtri(rng.uniform(a, b)), low), high))


class ParamSpace:
    """An ordered set of :class:`Param` with sampling, validation, vector views and files."""

    def __init__(self, params: Iterable[Param] | Mapping[str, Param] = ()):
        items = list(params.values()) if isinstance(params, Mapping) else list(params)
        self.params = {}
        for p in items:
            if p.name in self.params:
                raise ParamError(f"parameter {p.name!r} appears twice")
            self.params[p.name] = p

    # -- container ---------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.params)

    def __iter__(self) -> Iterator[Param]:
        return iter(self.params.values())

    def __contains__(self, name: object) -> bool:
        return name in self.params

    def __getitem__(self, name: str) -> Param:
        try:
            return self.params[name]
        except KeyError:
            raise ParamError(unknown_message(name, self.params)) from None

    @property
    def names(self) -> list[str]:
        return list(self.params)

    def merged(self, other: "ParamSpace") -> "ParamSpace":
        """This space with ``other``'s parameters added or replacing same-named ones."""
        return ParamSpace({**self.params, **other.params})

    def subset(self, names: Sequence[str]) -> "ParamSpace":
        return ParamSpace([self[n] for n in names])

    def replace(self, name: str, **changes: Any) -> "ParamSpace":
        """A copy with one parameter's fields changed (validated again)."""
        return ParamSpace({**self.params, name: replace(self[name], **changes)})

    # -- values --------------------------------------------------------------------------
    def nominal(self) -> dict[str, Value]:
        return {p.name: p.nominal for p in self}

    def sample(self, rng: np.random.Generator) -> dict[str, Value]:
        """One value per parameter, in order, from the env's generator."""
        return {p.name: p.sample(rng) for p in self}

    def validate(self, values: Mapping[str, Any], complete: bool = False) -> dict[str, Value]:
        """Checked values (unknown names and out-of-bounds values are errors)."""
        if not isinstance(values, Mapping):
            raise ParamError(f"parameter values must be a mapping of name to value, got {type(values).__name__}")
        out = {name: self[name].check(v) for name, v in values.items()}
        missing = [n for n in self.params if n not in out]
        if complete and missing:
            raise ParamError(f"values missing for parameters {missing}")
        return out

    # -- vector views for optimizers -------------------------------------------------------
    @property
    def numeric_names(self) -> list[str]:
        return [p.name for p in self if p.numeric]

    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        """(low, high) of the numeric parameters, in :attr:`numeric_names` order."""
        ps = [self.params[n] for n in self.numeric_names]
        return np.array([p.low for p in ps]), np.array([p.high for p in ps])

    def to_vector(self, values: Mapping[str, Any]) -> np.ndarray:
        checked = self.validate(values)
        return np.array([float(checked.get(n, self.params[n].nominal)) for n in self.numeric_names])

    def from_vector(self, x: np.ndarray, clip: bool = True) -> dict[str, float]:
        x = np.asarray(x, dtype=float).ravel()
        names = self.numeric_names
        if x.shape != (len(names),):
            raise ParamError(f"vector must have {len(names)} entries ({names}), got shape {x.shape}")
        if clip:
            low, high = self.bounds()
            x = np.minimum(np.maximum(x, low), high)
        return self.validate(dict(zip(names, x.tolist())))

    # -- files ---------------------------------------------------------------------------
    def markdown(self) -> str:
        """A Markdown table of the space (the env docstrings' Domain Randomization section)."""
        rows = ["| parameter | distribution | nominal | unit | meaning |", "|---|---|---|---|---|"]
        rows += [f"| `{p.name}` | {p.describe()} | {_num(p.nominal)} | {p.unit} | {p.doc} |" for p in self]
        return "\n".join(rows)

    def to_dict(self) -> dict[str, Any]:
        return {"params": {p.name: p.to_dict() for p in self}}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], source: str = "parameter space") -> "ParamSpace":
        if not isinstance(data, Mapping) or not isinstance(data.get("params"), Mapping):
            raise ParamError(f"{source}: expected a top-level 'params:' mapping of parameter name to fields")
        extra = sorted(set(data) - {"params", "meta"})
        if extra:
            raise ParamError(f"{source}: unknown top-level field(s) {extra}; allowed 'params', 'meta'")
        try:
            return cls(Param.from_dict(str(name), spec) for name, spec in data["params"].items())
        except (ParamError, TypeError) as exc:
            raise ParamError(f"{source}: {exc}") from None

    def save(self, path: str | Path, meta: Mapping[str, Any] | None = None) -> Path:
        """Write YAML (``.yaml``/``.yml``) or JSON (``.json``)."""
        path = Path(path)
        data = self.to_dict()
        if meta:
            data["meta"] = dict(meta)
        if path.suffix == ".json":
            path.write_text(json.dumps(data, indent=2) + "\n")
        elif path.suffix in (".yaml", ".yml"):
            import yaml

            path.write_text(yaml.safe_dump(data, sort_keys=False, width=120))
        else:
            raise ParamError(f"{path}: a parameter file must end in .yaml, .yml or .json")
        return path

    @classmethod
    def load(cls, path: str | Path) -> "ParamSpace":
        path = Path(path)
        if not path.is_file():
            raise ParamError(f"parameter file {str(path)!r} does not exist")
        text = path.read_text()
        try:
            if path.suffix == ".json":
                data = json.loads(text)
            else:
                import yaml

                data = yaml.safe_load(text)
        except Exception as exc:  # the parsers' own messages say where
            raise ParamError(f"{path}: not valid {'JSON' if path.suffix == '.json' else 'YAML'}: {exc}") from None
        return cls.from_dict(data, source=str(path))


def unknown_message(name: str, known: Iterable[str]) -> str:
    import difflib

    known = list(known)
    close = difflib.get_close_matches(name, known, n=3)
    hint = f"; did you mean {close}?" if close else f"; known: {known[:12]}{' ...' if len(known) > 12 else ''}"
    return f"unknown parameter {name!r}{hint}"
