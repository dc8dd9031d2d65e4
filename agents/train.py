"""Stable-Baselines3 training on SimSuite tasks, with domain randomization.

:func:`train` is the function behind ``simsuite train SimSuite/UAV-v0 --randomize fitted.yaml``:
hyperparameters per family in ``agents/configs/<family>.yaml`` (PPO, or SAC where it learns
faster), randomization from a ParamSpace file or object (a calibrated ``fitted.yaml`` from
``simsuite calibrate`` or a hand-written wide one), parallel envs (in worker processes, one or
a group each, or in this process for cheap steps: the config's ``vec_env`` and ``workers``),
observation and reward normalization (VecNormalize), checkpoints, CSV logs
(and TensorBoard when it is installed), a progress bar and one seed for everything.

A run folder holds everything needed to use the policy again, and no pickles but SB3's zip::

    model.zip          the SB3 model
    normalize.npz      observation statistics (when normalized)
    run.json           env id, env options, agent-side wrappers, config, seed, budget, timing
    randomize.yaml     the parameter space trained on (when randomized from a file or object)
    checkpoints/       step_<n>/model.zip + normalize.npz
    logs/              progress.csv (SB3's logger), TensorBoard events if available

:func:`load_policy` turns a run folder back into ``policy(obs) -> action`` and an env maker
with the same options and wrappers (:mod:`simsuite.agents.evaluate` uses it).
"""

from __future__ import annotations

import copy
import functools
import importlib.util
import json
import time
from pathlib import Path
from typing import Any, Mapping

import gymnasium
import numpy as np

CONFIG_DIR = Path(__file__).resolve().parent / "configs"
#: env id -> its family's config file in agents/configs (others use default.yaml)
FAMILY_CONFIGS = {"SimSuite/UAV-v0": "uav", "SimSuite/Nav-v0": "nav"}
ALGOS = ("PPO", "SAC")
_CONFIG_KEYS = {"algo", "env_kwargs", "lidar_sectors", "n_envs", "timesteps", "normalize", "policy", "policy_kwargs",
                "algo_kwargs", "checkpoint_every", "torch_threads", "vec_env", "workers"}


# -- configuration -------------------------------------------------------------------------
def load_config(config: str | Path | Mapping[str, Any] | None = None, env_id: str | None = None) -> dict[str, Any]:
    """A training config: None (the env family's file), a name in agents/configs
    (``"uav_sac"``), a YAML/JSON path, or a mapping. Unknown keys are errors."""
    if config is None:
        config = FAMILY_CONFIGS.get(env_id or "", "default")
    if isinstance(config, Mapping):
        data, source = copy.deepcopy(dict(config)), "config"
    else:
        path = Path(config)
        if not path.is_file() and (CONFIG_DIR / f"{config}.yaml").is_file():  # a shipped config by name
            path = CONFIG_DIR / f"{config}.yaml"
        if not path.is_file():
            known = sorted(p.stem for p in CONFIG_DIR.glob("*.yaml"))
            raise FileNotFoundError(f"config {str(config)!r} is neither a file nor one of {known}")
        data, source = _read_mapping(path), str(path)
    unknown = sorted(set(data) - _CONFIG_KEYS)
    if unknown:
        raise ValueError(f"{source}: unknown config key(s) {unknown}; allowed {sorted(_CONFIG_KEYS)}")
    data.setdefault("algo", "PPO")
    if data["algo"] not in ALGOS:
        raise ValueError(f"{source}: algo must be one of {ALGOS}, got {data['algo']!r}")
    if data.get("vec_env", "subproc") not in ("subproc", "dummy"):
        raise ValueError(f"{source}: vec_env must be 'subproc' (a worker process per env) or 'dummy' (in this process), "
                         f"got {data['vec_env']!r}")
    workers = data.get("workers")
    if workers is not None and (not isinstance(workers, int) or isinstance(workers, bool) or workers < 1):
        raise ValueError(f"{source}: workers must be a positive integer (processes the envs are split over), got {workers!r}")
    for key in ("env_kwargs", "normalize", "policy_kwargs", "algo_kwargs"):
        data[key] = dict(data.get(key) or {})
    return data


def _read_mapping(path: Path) -> dict[str, Any]:
    text = path.read_text()
    if path.suffix == ".json":
        data = json.loads(text)
    else:
        import yaml

        data = yaml.safe_load(text)
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a mapping at the top level")
    return data


def _policy_kwargs(kwargs: Mapping[str, Any]) -> dict[str, Any]:
    """Readable names in the file (``activation_fn: tanh``) to the objects SB3 takes."""
    import torch

    out = dict(kwargs)
    if isinstance(out.get("activation_fn"), str):
        name = out["activation_fn"]
        acts = {"tanh": torch.nn.Tanh, "relu": torch.nn.ReLU, "elu": torch.nn.ELU, "silu": torch.nn.SiLU}
        if name not in acts:
            raise ValueError(f"policy_kwargs.activation_fn must be one of {sorted(acts)}, got {name!r}")
        out["activation_fn"] = acts[name]
    if isinstance(out.get("net_arch"), dict):
        out["net_arch"] = {k: list(v) for k, v in out["net_arch"].items()}
    return out


# -- environments ----------------------------------------------------------------------------
def sector_space(space: gymnasium.Space, n: int) -> gymnasium.spaces.Dict:
    """The Dict observation space with its ``lidar`` scan min-pooled to ``n`` sectors."""
    if not isinstance(space, gymnasium.spaces.Dict) or "lidar" not in space.spaces:
        raise ValueError("lidar_sectors needs a Dict observation with a 'lidar' entry, e.g. obs=('state', 'lidar')")
    lidar = space["lidar"]
    if lidar.shape[-1] % n:
        raise ValueError(f"lidar_sectors={n} must divide the scan's {lidar.shape[-1]} beams")
    low, high = float(np.min(lidar.low)), float(np.max(lidar.high))
    return gymnasium.spaces.Dict({**space.spaces, "lidar": gymnasium.spaces.Box(low, high, (n,), np.float32)})


def pool_lidar(obs: Mapping[str, Any], n: int) -> dict[str, Any]:
    """The nearest return in each of ``n`` equal angular sectors of the scan."""
    scan = np.asarray(obs["lidar"], np.float32).reshape(-1)
    return {**obs, "lidar": scan.reshape(n, -1).min(axis=1)}


class LidarSectors(gymnasium.ObservationWrapper):
    """Min-pools the ``lidar`` entry of a Dict observation into ``n`` equal angular sectors
    (the nearest return in each): 360 noisy beams become a small, robust input."""

    def __init__(self, env: gymnasium.Env, n: int):
        super().__init__(env)
        self.n = int(n)
        self.observation_space = sector_space(env.observation_space, self.n)

    def observation(self, obs):
        return pool_lidar(obs, self.n)


def make_env(env_id: str, env_kwargs: Mapping[str, Any] | None = None, randomize: Any = False, *,
             lidar_sectors: int | None = None, flatten: bool = True, backend: str | None = None,
             render_mode: str | None = None, monitor: bool = False) -> gymnasium.Env:
    """The env a policy sees: ``gymnasium.make`` with the options, then the agent-side
    wrappers (LIDAR sectors, Dict → flat Box). Module-level, so worker processes can build it."""
    import simsuite  # noqa: F401  (registers the ids)

    kwargs = dict(env_kwargs or {})
    if isinstance(kwargs.get("obs"), list):
        kwargs["obs"] = tuple(kwargs["obs"])
    if backend is not None:
        kwargs["backend"] = backend
    env = gymnasium.make(env_id, randomize=randomize, render_mode=render_mode, **kwargs)
    if lidar_sectors:
        env = LidarSectors(env, int(lidar_sectors))
    if flatten and isinstance(env.observation_space, gymnasium.spaces.Dict):
        env = gymnasium.wrappers.FlattenObservation(env)
    if monitor:
        from stable_baselines3.common.monitor import Monitor

        env = Monitor(env)
    return env


def make_vec_env(env_fn, n_envs: int, kind: str = "subproc", workers: int | None = None):
    """``n_envs`` copies: in worker processes (``"subproc"``), or all in this process
    (``"dummy"``: better for envs so cheap that a step costs less than the pipe round trip).
    ``workers`` (subproc): processes to split the envs over, default one per env; fewer
    processes than envs keep a group in each (:class:`~simsuite.agents.vec_env.GroupedSubprocVecEnv`)."""
    from stable_baselines3.common.vec_env import DummyVecEnv, SubprocVecEnv

    if kind not in ("subproc", "dummy"):
        raise ValueError(f"vec_env must be 'subproc' or 'dummy', got {kind!r}")
    workers = n_envs if workers is None else int(workers)
    if not 1 <= workers <= max(n_envs, 1):
        raise ValueError(f"workers must be between 1 and n_envs ({n_envs}), got {workers}")
    if n_envs <= 1 or kind == "dummy":
        return DummyVecEnv([env_fn] * n_envs)
    # forkserver: workers start clean (no torch threads or GL contexts inherited)
    if workers < n_envs:
        from simsuite.agents.vec_env import GroupedSubprocVecEnv

        return GroupedSubprocVecEnv([env_fn] * n_envs, workers, start_method="forkserver")
    return SubprocVecEnv([env_fn] * n_envs, start_method="forkserver")


# -- normalization statistics without pickles ----------------------------------------------
def save_normalizer(vec_normalize, path: Path) -> Path:
    rms = vec_normalize.obs_rms
    np.savez(path, mean=rms.mean, var=rms.var, count=rms.count, clip_obs=vec_normalize.clip_obs,
             epsilon=vec_normalize.epsilon)
    return path


class ObsNormalizer:
    """(obs − mean) / √(var + ε), clipped: VecNormalize's observation transform, frozen."""

    def __init__(self, path: str | Path):
        with np.load(path) as data:
            self.mean, self.var = data["mean"], data["var"]
            self.clip, self.epsilon = float(data["clip_obs"]), float(data["epsilon"])

    def __call__(self, obs: np.ndarray) -> np.ndarray:
        return np.clip((obs - self.mean) / np.sqrt(self.var + self.epsilon), -self.clip, self.clip).astype(np.float32)


def _checkpoint_callback(out: Path, every: int):
    from stable_baselines3.common.callbacks import BaseCallback

    class Checkpoint(BaseCallback):
        """Model and normalizer every ``every`` env steps into checkpoints/step_<n>/."""

        def __init__(self):
            super().__init__()
            self.next_at = every

        def _on_step(self) -> bool:
            if self.num_timesteps >= self.next_at:
                self.next_at += every
                _save(self.model, out / "checkpoints" / f"step_{self.num_timesteps}")
            return True

    return Checkpoint()


def _time_limit_callback(limit_s: float):
    from stable_baselines3.common.callbacks import BaseCallback

    class TimeLimit(BaseCallback):
        """Stops training after ``limit_s`` seconds of wall-clock (the budget of a benchmark)."""

        def _on_training_start(self) -> None:
            self.t0 = time.perf_counter()

        def _on_step(self) -> bool:
            return time.perf_counter() - self.t0 < limit_s

    return TimeLimit()


def _save(model, folder: Path) -> None:
    from stable_baselines3.common.vec_env import VecNormalize

    folder.mkdir(parents=True, exist_ok=True)
    model.save(folder / "model.zip")
    env = model.get_env()
    if isinstance(env, VecNormalize):
        save_normalizer(env, folder / "normalize.npz")


# -- training ----------------------------------------------------------------------------------
def train(env_id: str, config: str | Path | Mapping[str, Any] | None = None, randomize: Any = False,
          timesteps: int | None = None, seed: int = 0, out_dir: str | Path | None = None, n_envs: int | None = None,
          *, backend: str = "mujoco", progress: bool = True, verbose: int = 0, time_limit_s: float | None = None) -> Path:
    """Train a policy on ``env_id`` and return its run folder (see the module docstring).

    ``randomize``: False (nominal parameters), True (the task's default space), a ParamSpace
    file (e.g. calibration's fitted distribution) or a ParamSpace. ``timesteps`` and
    ``n_envs`` override the config's. One ``seed`` seeds torch, the workers' envs (seed + i)
    and the action noise. ``time_limit_s`` stops training early after that much wall-clock.
    """
    import torch
    from stable_baselines3 import PPO, SAC
    from stable_baselines3.common.logger import configure
    from stable_baselines3.common.vec_env import VecNormalize

    from simsuite.randomization import ParamSpace

    cfg = load_config(config, env_id)
    timesteps = int(timesteps if timesteps is not None else cfg.get("timesteps", 100_000))
    n_envs = int(n_envs if n_envs is not None else cfg.get("n_envs", 1))
    out = Path(out_dir or f"runs/train/{env_id.split('/')[-1].lower()}_{cfg['algo'].lower()}_s{seed}")
    out.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(int(cfg.get("torch_threads", 1)))  # the cores belong to the workers

    space_label: str | bool = bool(randomize)
    source = str(randomize) if isinstance(randomize, (str, Path)) else None
    if isinstance(randomize, (str, Path)):
        randomize = ParamSpace.load(randomize)
    if isinstance(randomize, ParamSpace):
        randomize.save(out / "randomize.yaml")
        randomize, space_label = str((out / "randomize.yaml").resolve()), "randomize.yaml"
    env_spec = {"env_id": env_id, "env_kwargs": cfg["env_kwargs"], "lidar_sectors": cfg.get("lidar_sectors"),
                "flatten": cfg.get("policy", "MlpPolicy") != "MultiInputPolicy", "backend": backend}
    env_fn = functools.partial(make_env, env_id, cfg["env_kwargs"], randomize, lidar_sectors=env_spec["lidar_sectors"],
                               flatten=env_spec["flatten"], backend=backend, monitor=True)
    venv = make_vec_env(env_fn, n_envs, cfg.get("vec_env", "subproc"), _workers(cfg, n_envs))
    norm = cfg["normalize"]
    if norm.get("obs") or norm.get("reward"):
        gamma = float(cfg["algo_kwargs"].get("gamma", 0.99))
        venv = VecNormalize(venv, norm_obs=bool(norm.get("obs")), norm_reward=bool(norm.get("reward")),
                            clip_obs=float(norm.get("clip_obs", 10.0)), gamma=gamma)
    algo = {"PPO": PPO, "SAC": SAC}[cfg["algo"]]
    model = algo(cfg.get("policy", "MlpPolicy"), venv, seed=seed, verbose=verbose, device="cpu",
                 policy_kwargs=_policy_kwargs(cfg["policy_kwargs"]), **cfg["algo_kwargs"])
    formats = ["csv"] + (["tensorboard"] if importlib.util.find_spec("tensorboard") else [])
    model.set_logger(configure(str(out / "logs"), formats + (["stdout"] if verbose else [])))
    callbacks = [_checkpoint_callback(out, int(cfg["checkpoint_every"]))] if cfg.get("checkpoint_every") else []
    if time_limit_s:
        callbacks.append(_time_limit_callback(float(time_limit_s)))
    meta = {"env": env_spec, "algo": cfg["algo"], "config": cfg, "randomize": space_label, "randomize_source": source, "seed": seed,
            "timesteps": timesteps, "n_envs": n_envs, "workers": _workers(cfg, n_envs), "versions": _versions()}
    (out / "run.json").write_text(json.dumps(meta, indent=2, default=str))
    t0 = time.perf_counter()
    try:
        model.learn(total_timesteps=timesteps, callback=callbacks, progress_bar=progress and _has_progress_bar())
        wall_s = time.perf_counter() - t0
        _save(model, out)
    finally:
        venv.close()
        model.logger.close()  # its CSV and TensorBoard files
    meta.update(wall_s=round(wall_s, 2), steps_per_s=round(model.num_timesteps / wall_s, 1), num_timesteps=model.num_timesteps)
    (out / "run.json").write_text(json.dumps(meta, indent=2, default=str))
    return out


def _workers(cfg: Mapping[str, Any], n_envs: int) -> int:
    """The config's worker processes, never more than the envs (``--n-envs 1`` on any config)."""
    return min(int(cfg.get("workers") or n_envs), n_envs)


def _has_progress_bar() -> bool:
    return all(importlib.util.find_spec(m) is not None for m in ("tqdm", "rich"))


def _versions() -> dict[str, str]:
    import stable_baselines3
    import torch

    return {"stable_baselines3": stable_baselines3.__version__, "torch": torch.__version__, "gymnasium": gymnasium.__version__}


# -- using a trained policy -------------------------------------------------------------------
class TrainedPolicy:
    """A run folder (or its model.zip) as ``policy(obs) -> action`` on the env's own
    observation (the agent-side transforms, LIDAR sectors, flattening and normalization,
    happen inside), plus :meth:`make_env` for an env with the options it was trained with."""

    def __init__(self, path: str | Path, deterministic: bool = True):
        from stable_baselines3 import PPO, SAC

        path = Path(path)
        folder = path.parent if path.suffix == ".zip" else path
        model_file = path if path.suffix == ".zip" else folder / "model.zip"
        run_file = folder / "run.json" if (folder / "run.json").is_file() else folder.parent.parent / "run.json"
        if not model_file.is_file() or not run_file.is_file():
            raise FileNotFoundError(f"{path}: not a training run (needs model.zip and run.json from `simsuite train`)")
        self.name = str(path)
        self.meta = json.loads(run_file.read_text())
        self.env_spec = self.meta["env"]
        self.model = {"PPO": PPO, "SAC": SAC}[self.meta["algo"]].load(model_file, device="cpu")
        self.normalizer = ObsNormalizer(folder / "normalize.npz") if (folder / "normalize.npz").is_file() else None
        self.deterministic = deterministic
        self._sectors = self.env_spec.get("lidar_sectors")
        self._flat_space: gymnasium.spaces.Dict | None = None

    @property
    def env_id(self) -> str:
        return self.env_spec["env_id"]

    def make_env(self, randomize: Any = False, backend: str | None = None, render_mode: str | None = None,
                 env_id: str | None = None) -> gymnasium.Env:
        """The SimEnv (with its TimeLimit) the policy was trained on, without agent-side wrappers."""
        spec = self.env_spec
        env = make_env(env_id or spec["env_id"], spec["env_kwargs"], randomize, flatten=False,
                       backend=backend or spec.get("backend"), render_mode=render_mode)
        space = env.observation_space
        if self._sectors:
            space = sector_space(space, int(self._sectors))
        if spec.get("flatten", True) and isinstance(space, gymnasium.spaces.Dict):
            self._flat_space = space
        return env

    def __call__(self, obs) -> np.ndarray:
        if self._sectors:
            obs = pool_lidar(obs, int(self._sectors))
        if isinstance(obs, Mapping) and self.env_spec.get("flatten", True):
            if self._flat_space is None:
                raise RuntimeError("call make_env() first: the policy flattens the env's Dict observation")
            obs = gymnasium.spaces.flatten(self._flat_space, obs)
        if self.normalizer is not None:
            obs = self.normalizer(obs)
        action, _ = self.model.predict(obs, deterministic=self.deterministic)
        return action


def load_policy(path: str | Path, deterministic: bool = True) -> TrainedPolicy:
    return TrainedPolicy(path, deterministic)
