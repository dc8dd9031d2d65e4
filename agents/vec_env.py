"""Several envs per worker process: SB3's SubprocVecEnv runs one env per process, which pays a
pipe round trip per env per step and gives the policy a batch of only as many observations as
there are cores. A UAV step costs about 0.2 ms, less than that round trip and far less than
one policy forward pass (about 0.3 ms at any batch size up to 32), so PPO on 2 workers with one
env each ran at ~770 steps/s. :class:`GroupedSubprocVecEnv` keeps a group of envs in each
worker, steps the group in a loop and sends the group's results back in one message: the
policy sees a batch of all envs (e.g. 16) and each worker pays one round trip per step.

It follows SB3's VecEnv protocol exactly as SubprocVecEnv does (auto-reset, the
``terminal_observation`` and ``TimeLimit.truncated`` infos, seeds and options used once), so
VecNormalize, PPO and SAC use it unchanged.
"""

from __future__ import annotations

import multiprocessing as mp
from typing import Any, Callable, Sequence

import gymnasium
import numpy as np
from stable_baselines3.common.vec_env.base_vec_env import CloudpickleWrapper, VecEnv


def _step_group(envs: list[gymnasium.Env], actions: np.ndarray):
    """One step of each env in the group, with SB3's auto-reset and episode-end infos."""
    out_obs, rewards, dones, infos, reset_infos = [], [], [], [], []
    for env, action in zip(envs, actions):
        obs, reward, terminated, truncated, info = env.step(action)
        done = terminated or truncated
        info["TimeLimit.truncated"] = truncated and not terminated
        reset_info: dict[str, Any] = {}
        if done:
            info["terminal_observation"] = obs
            obs, reset_info = env.reset()
        out_obs.append(obs)
        rewards.append(reward)
        dones.append(done)
        infos.append(info)
        reset_infos.append(reset_info)
    return out_obs, rewards, dones, infos, reset_infos


def _reset_group(envs: list[gymnasium.Env], seeds: Sequence[int | None], options: Sequence[dict]):
    results = [env.reset(seed=seed, **({"options": opts} if opts else {})) for env, seed, opts in zip(envs, seeds, options)]
    return [obs for obs, _ in results], [info for _, info in results]


def _worker(remote, parent_remote, env_fns_wrapper: CloudpickleWrapper) -> None:
    """Serves one group of envs: each command applies to the listed local indices."""
    from stable_baselines3.common.env_util import is_wrapped

    parent_remote.close()
    envs = [fn() for fn in env_fns_wrapper.var]
    commands: dict[str, Callable[[Any], Any]] = {
        "step": lambda actions: _step_group(envs, actions),
        "reset": lambda data: _reset_group(envs, *data),
        "spaces": lambda _: (envs[0].observation_space, envs[0].action_space),
        "render": lambda idx: [envs[i].render() for i in idx],
        "get_attr": lambda data: [envs[i].get_wrapper_attr(data[1]) for i in data[0]],
        "set_attr": lambda data: [setattr(envs[i], data[1], data[2]) for i in data[0]],
        "env_method": lambda data: [envs[i].get_wrapper_attr(data[1])(*data[2], **data[3]) for i in data[0]],
        "is_wrapped": lambda data: [is_wrapped(envs[i], data[1]) for i in data[0]],
    }
    try:
        while True:
            cmd, data = remote.recv()
            if cmd == "close":
                break
            try:
                remote.send((True, commands[cmd](data)))
            except Exception as exc:  # noqa: BLE001  (raised again in the main process, the worker lives on)
                remote.send((False, exc))
    except (EOFError, KeyboardInterrupt):
        pass
    finally:
        for env in envs:
            env.close()
        remote.close()


def _recv(remote) -> Any:
    """A worker's answer, or its exception raised here."""
    return _gather([remote])[0]


def _gather(remotes) -> list[Any]:
    """Every asked worker's answer (all read, so that no stale answer stays in a pipe), or
    the first exception raised here."""
    answers = [remote.recv() for remote in remotes]
    for ok, value in answers:
        if not ok:
            raise value
    return [value for _, value in answers]


class GroupedSubprocVecEnv(VecEnv):
    """``len(env_fns)`` envs split as evenly as possible over ``workers`` processes.

    ``start_method`` as in SubprocVecEnv; "forkserver" starts workers clean (no torch threads
    or GL contexts inherited) and needs the caller's script behind ``if __name__ == "__main__"``.
    """

    def __init__(self, env_fns: list[Callable[[], gymnasium.Env]], workers: int, start_method: str = "forkserver"):
        n_envs = len(env_fns)
        if not 1 <= workers <= n_envs:
            raise ValueError(f"workers must be between 1 and the number of envs ({n_envs}), got {workers}")
        self.waiting = self.closed = False
        bounds = np.linspace(0, n_envs, workers + 1).round().astype(int)
        self.groups = [range(lo, hi) for lo, hi in zip(bounds[:-1], bounds[1:])]
        ctx = mp.get_context(start_method)
        pipes = [ctx.Pipe() for _ in self.groups]
        self.remotes = [parent for parent, _ in pipes]
        self.processes = []
        for (parent, child), group in zip(pipes, self.groups):
            fns = CloudpickleWrapper([env_fns[i] for i in group])
            process = ctx.Process(target=_worker, args=(child, parent, fns), daemon=True)
            process.start()
            self.processes.append(process)
            child.close()
        self.remotes[0].send(("spaces", None))
        observation_space, action_space = _recv(self.remotes[0])
        super().__init__(n_envs, observation_space, action_space)

    # -- stepping --------------------------------------------------------------------------
    def step_async(self, actions: np.ndarray) -> None:
        for remote, group in zip(self.remotes, self.groups):
            remote.send(("step", actions[group.start:group.stop]))
        self.waiting = True

    def step_wait(self):
        results = _gather(self.remotes)
        self.waiting = False
        obs, rewards, dones, infos, self.reset_infos = (sum((r[k] for r in results), []) for k in range(5))
        return (self._stack(obs), np.array(rewards, dtype=np.float32), np.array(dones, dtype=bool), infos)

    def reset(self):
        for remote, group in zip(self.remotes, self.groups):
            remote.send(("reset", ([self._seeds[i] for i in group], [self._options[i] for i in group])))
        results = _gather(self.remotes)
        obs = sum((r[0] for r in results), [])
        self.reset_infos = sum((r[1] for r in results), [])
        self._reset_seeds()
        self._reset_options()
        return self._stack(obs)

    def _stack(self, obs: list):
        if isinstance(self.observation_space, gymnasium.spaces.Dict):
            return {key: np.stack([o[key] for o in obs]) for key in self.observation_space.spaces}
        return np.stack(obs)

    def close(self) -> None:
        if self.closed:
            return
        if self.waiting:
            for remote in self.remotes:
                remote.recv()
        for remote in self.remotes:
            remote.send(("close", None))
        for process in self.processes:
            process.join()
        for remote in self.remotes:
            remote.close()
        self.closed = True

    # -- attributes and methods of some envs -------------------------------------------------
    def _ask(self, cmd: str, indices, *args) -> list[Any]:
        """Sends ``cmd`` to the workers holding ``indices``; the answers in index order."""
        wanted = list(self._get_indices(indices))
        asked = []
        for remote, group in zip(self.remotes, self.groups):
            local = [i - group.start for i in wanted if i in group]
            if local:
                remote.send((cmd, (local, *args)))
                asked.append((remote, [group.start + i for i in local]))
        answers = {}
        for (_, global_idx), values in zip(asked, _gather([remote for remote, _ in asked])):
            answers.update(zip(global_idx, values))
        return [answers[i] for i in wanted]

    def get_images(self) -> Sequence[np.ndarray | None]:
        for remote, group in zip(self.remotes, self.groups):
            remote.send(("render", list(range(len(group)))))
        return sum(_gather(self.remotes), [])

    def has_attr(self, attr_name: str) -> bool:
        try:
            self.get_attr(attr_name)
        except AttributeError:
            return False
        return True

    def get_attr(self, attr_name: str, indices=None) -> list[Any]:
        return self._ask("get_attr", indices, attr_name)

    def set_attr(self, attr_name: str, value: Any, indices=None) -> None:
        self._ask("set_attr", indices, attr_name, value)

    def env_method(self, method_name: str, *method_args, indices=None, **method_kwargs) -> list[Any]:
        return self._ask("env_method", indices, method_name, method_args, method_kwargs)

    def env_is_wrapped(self, wrapper_class: type[gymnasium.Wrapper], indices=None) -> list[bool]:
        return self._ask("is_wrapped", indices, wrapper_class)
