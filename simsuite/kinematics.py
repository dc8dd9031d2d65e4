"""Backend-neutral kinematics of one robot tree in a :class:`~simsuite.scene.Scene`.

Forward kinematics, geometric Jacobians, gravity torques and damped-least-squares
(DLS) inverse kinematics are computed here from the scene's body tree and a vector
of joint positions, never by an engine, so a controller built on them (the grasp
task's end-effector actions) does exactly the same arithmetic on MuJoCo and on
PyBullet. Only the joint positions come from the backend.

Conventions follow scene.py: a joint sits at its body frame origin, its axis is
given in that frame, a hinge rotates the body about it and a slide translates it.
Frames are 4×4 homogeneous transforms here (cheaper to chain than quaternions);
positions in metres, angles in radians.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np
from scipy.linalg.lapack import dposv as _dposv

from simsuite.scene import Body, Scene
from simsuite.transforms import quat_to_mat

GRAVITY_M_S2 = (0.0, 0.0, -9.81)
_NONE, _HINGE, _SLIDE = 0, 1, 2
_ORIGIN = (0.0, 0.0, 0.0)
_LEVI_CIVITA = np.zeros((3, 3, 3))  # ε_ijk: (a × b)_i = ε_ijk a_j b_k
_LEVI_CIVITA[0, 1, 2] = _LEVI_CIVITA[1, 2, 0] = _LEVI_CIVITA[2, 0, 1] = 1.0
_LEVI_CIVITA[0, 2, 1] = _LEVI_CIVITA[2, 1, 0] = _LEVI_CIVITA[1, 0, 2] = -1.0


class KinematicsError(ValueError):
    """A kinematic request that cannot be answered: unknown body or joint, bad shape."""


@dataclass(frozen=True)
class IKResult:
    """Outcome of :meth:`KinematicTree.solve_ik`."""

    q: np.ndarray  # all tree joint positions, the active ones updated [rad or m]
    frames: np.ndarray  # KinematicTree.frames(q), for reuse (gravity torques, the next solve)
    position_error_m: float  # remaining distance to the target point
    rotation_error_rad: float  # remaining angle to the target orientation (0 if none asked)
    iterations: int


def _homogeneous(pos: np.ndarray, rot: np.ndarray) -> np.ndarray:
    out = np.eye(4)
    out[:3, :3], out[:3, 3] = rot, pos
    return out


def _solve_spd(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Solve a x = b for symmetric positive definite ``a`` by Cholesky (LAPACK dposv: ~8×
    less call overhead than np.linalg.solve at 6×6, which matters once per control step)."""
    _, x, info = _dposv(a, b)
    return x if info == 0 else np.linalg.solve(a, b)


def skew(v: np.ndarray) -> np.ndarray:
    """The cross-product matrix [v]× (so that skew(a) @ b == a × b)."""
    return np.array([[0.0, -v[2], v[1]], [v[2], 0.0, -v[0]], [-v[1], v[0], 0.0]])


_SKEW_GRAVITY = skew(np.array(GRAVITY_M_S2))


def rotation_error(target: np.ndarray, current: np.ndarray) -> np.ndarray:
    """World-frame rotation vector (axis · angle) that turns ``current`` into ``target``."""
    r = target @ current.T
    (r00, r01, r02), (r10, r11, r12), (r20, r21, r22) = r.tolist()  # scalar math: faster than numpy at 3×3
    cos_angle = min(1.0, max(-1.0, (r00 + r11 + r22 - 1.0) / 2.0))
    vee = (r21 - r12, r02 - r20, r10 - r01)
    angle = math.acos(cos_angle)
    if angle < 1e-6:
        scale = 0.5
    elif math.pi - angle < 1e-4:  # half-turn: the axis is the dominant column of (r + I) / 2
        sym = (r + np.eye(3)) / 2.0
        axis = sym[:, int(np.argmax(np.diag(sym)))]
        return angle * axis / np.linalg.norm(axis)
    else:
        scale = angle / (2.0 * math.sin(angle))
    return np.array([scale * vee[0], scale * vee[1], scale * vee[2]])


@dataclass
class _Folded:
    """A body tree folded onto its joint frames: frame 0 is the root body (fixed in the
    world), frame k > 0 the body of the k-th hinge or slide joint, depth first."""

    parents: list[int] = field(default_factory=lambda: [-1])
    fixed: list[np.ndarray] = field(default_factory=list)  # 4×4 pre-joint pose in the parent frame
    kinds: list[int] = field(default_factory=lambda: [_NONE])
    axes: list[np.ndarray] = field(default_factory=lambda: [np.zeros(3)])  # unit, in the frame
    names: list[str] = field(default_factory=list)  # joints, frames 1...
    ranges: list[tuple[float, float]] = field(default_factory=list)
    mass: list[float] = field(default_factory=lambda: [0.0])  # of the bodies welded to each frame
    moment: list[np.ndarray] = field(default_factory=lambda: [np.zeros(3)])  # their Σ m·com, frame axes
    frame_of_body: list[int] = field(default_factory=list)  # body (depth first) -> its frame
    offsets: list[np.ndarray] = field(default_factory=list)  # 4×4 body pose in its frame


def _fold(top: Body, mesh_dir: Path | None) -> _Folded:
    """Walk the tree once, folding welded bodies (and their mass) into the joint frame above."""
    out = _Folded()
    out.fixed.append(_homogeneous(np.asarray(top.pos, float), quat_to_mat(top.quat)))
    stack: list[tuple[Body, int, np.ndarray]] = [(top, 0, np.eye(4))]  # body, frame, pre-joint pose in it
    while stack:
        body, frame, pose = stack.pop()
        joint = body.joint
        if joint is not None:
            if joint.type == "free":
                raise KinematicsError(f"joint {joint.name!r}: a free joint inside a fixed-base tree")
            axis = np.asarray(joint.axis, dtype=np.float64)
            out.parents.append(frame)
            out.fixed.append(pose)
            out.kinds.append(_HINGE if joint.type == "hinge" else _SLIDE)
            out.axes.append(axis / np.linalg.norm(axis))
            out.names.append(joint.name)
            out.ranges.append(joint.range if joint.range is not None else (-math.inf, math.inf))
            out.mass.append(0.0)
            out.moment.append(np.zeros(3))
            frame, pose = len(out.parents) - 1, np.eye(4)
        out.frame_of_body.append(frame)
        out.offsets.append(pose)
        if frame > 0:  # the root frame never moves: its mass does not matter
            inertial = body.mass_properties(mesh_dir)
            out.mass[frame] += inertial.mass_kg
            out.moment[frame] = out.moment[frame] + inertial.mass_kg * (pose[:3, :3] @ np.asarray(inertial.pos, float) + pose[:3, 3])
        for child in reversed(body.children):  # popped in document order: depth first, as Body.walk
            stack.append((child, frame, pose @ _homogeneous(np.asarray(child.pos, float), quat_to_mat(child.quat))))
    return out


class KinematicTree:
    """The bodies of one top-level tree of a scene, with its hinge and slide joints.

    ``joint_names`` orders the joint vector ``q`` (depth first, as the scene lists them);
    every method takes the full ``q`` of the tree. A free root is not supported: the
    tree is fixed to the world at its root body's pose (a fixed-base robot).

    Internally the tree is reduced to its *joint frames*: bodies welded to a parent
    (flanges, hands, grasp frames) are folded into the nearest moving frame above
    them, so forward kinematics chains only one transform per joint.
    """

    def __init__(self, scene: Scene, root: str):
        tops = {body.name: body for body in scene.bodies}
        if root not in tops:
            raise KinematicsError(f"root {root!r} is not a top-level body of scene {scene.name!r}; top-level bodies are {sorted(tops)}")
        top = tops[root]
        if top.is_free:
            raise KinematicsError(f"root {root!r} has a free joint; KinematicTree models fixed-base robots")
        self.root_name = root
        self.body_names: tuple[str, ...] = tuple(body.name for body in top.walk())
        self._body_index = {name: i for i, name in enumerate(self.body_names)}
        folded = _fold(top, Path(scene.mesh_dir) if scene.mesh_dir else None)
        self.joint_names: tuple[str, ...] = tuple(folded.names)
        self._joint_index = {name: i for i, name in enumerate(folded.names)}
        self.joint_ranges = np.array(folded.ranges, dtype=np.float64).reshape(-1, 2)
        self._parent = np.array(folded.parents, dtype=np.intp)
        self._fixed = np.array(folded.fixed)
        self._offset = np.array(folded.offsets)
        self._frame_of_body = np.array(folded.frame_of_body, dtype=np.intp)
        self._axis = np.array(folded.axes)
        kind = np.array(folded.kinds)
        self._hinge, self._slide = (kind == _HINGE).astype(np.float64), (kind == _SLIDE).astype(np.float64)
        # frames(): local = fixed + sin·A + (1 − cos)·B + d·C (Rodrigues, or a slide along the axis)
        k = np.array([skew(a) for a in self._axis])
        rot = self._fixed[:, :3, :3]
        self._basis = np.zeros((len(self._parent), 3, 4, 4))
        self._basis[:, 0, :3, :3] = rot @ k
        self._basis[:, 1, :3, :3] = rot @ k @ k
        self._basis[:, 2, :3, 3] = np.einsum("fij,fj->fi", rot, self._axis)
        self._frame_mass, self._frame_moment = np.array(folded.mass), np.array(folded.moment)
        self._paths: dict[int, list[int]] = {}
        self._chains: dict[int, tuple] = {}
        self._parent_list = folded.parents[1:]
        # subtree[a, f] = 1 when joint frame f is a or below it (the root frame left out):
        # sums over subtrees become one matmul in gravity_torques()
        n = len(self._parent) - 1
        self._subtree = np.zeros((n, n))
        for f in range(1, n + 1):
            for a in self._path(f)[1:]:
                self._subtree[a - 1, f - 1] = 1.0
        self._subtree_mass = self._subtree @ self._frame_mass[1:]

    # -- lookups ---------------------------------------------------------------
    @property
    def n_joints(self) -> int:
        return len(self.joint_names)

    def body_index(self, body: str) -> int:
        try:
            return self._body_index[body]
        except KeyError:
            raise KinematicsError(f"unknown body {body!r} in tree {self.root_name!r}; bodies are {list(self.body_names)}") from None

    def joint_indices(self, joints: Sequence[str]) -> np.ndarray:
        """Positions of ``joints`` in the tree's joint vector."""
        missing = [j for j in joints if j not in self._joint_index]
        if missing:
            raise KinematicsError(f"unknown joints {missing} in tree {self.root_name!r}; joints are {list(self.joint_names)}")
        return np.array([self._joint_index[j] for j in joints], dtype=np.intp)

    def _path(self, frame: int) -> list[int]:
        """Frames from the root down to ``frame`` (cached)."""
        path = self._paths.get(frame)
        if path is None:
            chain, at = [], frame
            while at >= 0:
                chain.append(at)
                at = int(self._parent[at])
            path = self._paths[frame] = chain[::-1]
        return path

    def _check_q(self, q: np.ndarray) -> np.ndarray:
        if type(q) is not np.ndarray or q.dtype != np.float64:
            q = np.asarray(q, dtype=np.float64)
        if q.shape != (self.n_joints,):
            raise KinematicsError(f"q must have shape ({self.n_joints},) for joints {list(self.joint_names)}, got {q.shape}")
        return q

    # -- forward kinematics ------------------------------------------------------
    def frames(self, q: np.ndarray) -> np.ndarray:
        """World 4×4 transforms (F, 4, 4) of the joint frames at ``q``. Pass the result to
        :meth:`jacobian`, :meth:`body_pose` or :meth:`gravity_torques` to share one
        forward pass between them."""
        q = self._check_q(q)
        # local = fixed·[Rodrigues(hinge angle) | slide offset] = fixed + s·A + (1 − c)·B + d·C
        coeffs = np.zeros((len(self._parent), 3))
        angle = q * self._hinge[1:]
        coeffs[1:, 0] = np.sin(angle)
        coeffs[1:, 1] = 1.0 - np.cos(angle)
        coeffs[1:, 2] = q * self._slide[1:]
        local = self._fixed + np.einsum("fk,fkij->fij", coeffs, self._basis)
        world = [local[0]]
        for parent, transform in zip(self._parent_list, local[1:]):  # parents come first
            world.append(world[parent] @ transform)
        return np.array(world)

    def _world(self, q: np.ndarray | None, frames: np.ndarray | None) -> np.ndarray:
        if frames is not None:
            return frames
        if q is None:
            raise KinematicsError("give joint positions q or precomputed frames")
        return self.frames(q)

    def forward(self, q: np.ndarray | None = None, frames: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """World positions (N, 3) and rotation matrices (N, 3, 3) of every body of the tree,
        ordered as :attr:`body_names`."""
        world = self._world(q, frames)[self._frame_of_body] @ self._offset
        return world[:, :3, 3], world[:, :3, :3]

    def body_pose(
        self, q: np.ndarray | None, body: str, point: Sequence[float] = _ORIGIN, frames: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """World position of ``point`` (in ``body``'s frame) and the body's rotation matrix."""
        b = self.body_index(body)
        world = self._world(q, frames)[self._frame_of_body[b]] @ self._offset[b]
        return world[:3, 3] + world[:3, :3] @ np.asarray(point, dtype=np.float64), world[:3, :3]

    def jacobian(
        self, q: np.ndarray | None, body: str, point: Sequence[float] = _ORIGIN, frames: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Point position (3,), body rotation (3, 3) and the geometric Jacobian (6, n):
        rows 0-2 map q̇ to the point's linear velocity, rows 3-5 to the body's angular
        velocity, both in world axes. Joints off the path to ``body`` have zero columns."""
        tip, rot, chain_jac, cols = self._chain_jacobian(self._world(q, frames), self.body_index(body), point)
        jac = np.zeros((6, self.n_joints))
        jac[:, cols] = chain_jac
        return tip, rot, jac

    def chain_joints(self, body: str) -> np.ndarray:
        """Indices (into q) of the joints on the path from the root to ``body``."""
        return np.arange(self.n_joints)[self._chain(self.body_index(body))[2]]

    def _chain_jacobian(self, world: np.ndarray, b: int, point: Sequence[float]) -> tuple[np.ndarray, np.ndarray, np.ndarray, object]:
        """Tip, rotation and the (6, k) Jacobian of the k joints on the path to body ``b``
        (the per-step hot path: few numpy calls, views where the path is contiguous)."""
        frame, moving, cols, hinge, slide = self._chain(b)
        tip_frame = world[frame] @ self._offset[b]
        rot = tip_frame[:3, :3]
        tip = tip_frame[:3, 3] if point is _ORIGIN else tip_frame[:3, 3] + rot @ np.asarray(point, dtype=np.float64)
        chain = world[moving]
        axes = np.einsum("fij,fj->fi", chain[:, :3, :3], self._axis[moving])
        linear = np.einsum("ijk,fj,fk->if", _LEVI_CIVITA, axes, tip - chain[:, :3, 3], optimize=False)  # axis × lever
        if slide is None:  # all hinges: the common case
            return tip, rot, np.concatenate([linear, axes.T]), cols
        return tip, rot, np.concatenate([hinge * linear + slide * axes.T, hinge * axes.T]), cols

    def _chain(self, body: int) -> tuple:
        """(frame, moving frames, their q columns, hinge mask (1, k), slide mask or None) of
        the path to ``body``; slices where the path is contiguous, so indexing makes views."""
        cached = self._chains.get(body)
        if cached is None:
            frame = int(self._frame_of_body[body])
            moving = self._path(frame)[1:]
            index: slice | list[int] = moving
            cols: slice | list[int] = [f - 1 for f in moving]
            if moving and moving == list(range(moving[0], moving[-1] + 1)):
                index, cols = slice(moving[0], moving[-1] + 1), slice(moving[0] - 1, moving[-1])
            hinge = self._hinge[moving][None, :]
            slide = None if hinge.all() else self._slide[moving][None, :]
            cached = self._chains[body] = (frame, index, cols, hinge, slide)
        return cached

    def gravity_torques(
        self, q: np.ndarray | None = None, gravity: Sequence[float] = GRAVITY_M_S2, frames: np.ndarray | None = None
    ) -> np.ndarray:
        """Joint torques [N·m] (forces [N] on slides) that hold the tree still against gravity:
        τ_j = Σ over bodies b moved by joint j of −m_b · J_j(com_b)ᵀ g."""
        world = self._world(q, frames)[1:]
        pos, rot = world[:, :3, 3], world[:, :3, :3]
        g = np.asarray(gravity, dtype=np.float64)
        # Σ m·com over each joint's subtree (world), minus its mass times the joint origin:
        # the lever of the subtree's weight about the joint.
        moment = self._subtree @ (np.einsum("fij,fj->fi", rot, self._frame_moment[1:]) + self._frame_mass[1:, None] * pos)
        lever = moment - self._subtree_mass[:, None] * pos
        axes = np.einsum("fij,fj->fi", rot, self._axis[1:])
        cross_g = _SKEW_GRAVITY if gravity is GRAVITY_M_S2 else skew(g)
        hinge_torque = np.einsum("fi,fi->f", axes, lever @ cross_g)  # axis · (lever × g)
        return -(self._hinge[1:] * hinge_torque + self._slide[1:] * self._subtree_mass * (axes @ g))

    # -- inverse kinematics -------------------------------------------------------
    def dls_step(
        self,
        frames: np.ndarray,
        body: str,
        target_pos: np.ndarray,
        target_rot: np.ndarray | None,
        active: np.ndarray | None = None,
        *,
        point: Sequence[float] = _ORIGIN,
        damping: float = 0.01,
        rotation_weight: float = 0.5,
        nullspace_pull: np.ndarray | None = None,
    ) -> tuple[np.ndarray, float, float]:
        """One damped-least-squares update of the ``active`` joints (None: those on the path
        to ``body``, see :meth:`chain_joints`), from the frames at the current q:
        Δq = Jᵀ(JJᵀ + λ²I)⁻¹e (+ the part of ``nullspace_pull`` that leaves the task alone).
        Returns (Δq, position error [m], rotation error [rad]) before the update.

        This is the whole per-step cost of a resolved-rate controller; :meth:`solve_ik`
        iterates it to convergence."""
        b = self.body_index(body)
        tip, rot, chain_jac, cols = self._chain_jacobian(frames, b, point)
        if active is None:
            j = chain_jac
        else:
            full = np.zeros((6, self.n_joints))
            full[:, cols] = chain_jac
            j = full[:, active]
        rows = 3 if target_rot is None else 6
        err = np.empty(rows)
        err[:3] = target_pos - tip
        pos_err = math.sqrt(err[:3] @ err[:3])
        rot_err = 0.0
        if target_rot is None:
            j = j[:3]
        else:
            err[3:] = rotation_error(target_rot, rot)
            rot_err = math.sqrt(err[3:] @ err[3:])
            err[3:] *= rotation_weight
            j[3:] *= rotation_weight  # a fresh array: scaling it in place is safe
        jjt = j @ j.T
        jjt.flat[:: rows + 1] += damping**2
        if nullspace_pull is None:
            return j.T @ _solve_spd(jjt, err), pos_err, rot_err
        rhs = np.empty((rows, 2))
        rhs[:, 0], rhs[:, 1] = err, j @ nullspace_pull
        x = _solve_spd(jjt, rhs)  # one factorization, both right-hand sides
        return j.T @ x[:, 0] + nullspace_pull - j.T @ x[:, 1], pos_err, rot_err

    def solve_ik(
        self,
        q0: np.ndarray,
        body: str,
        target_pos: Sequence[float],
        target_rot: np.ndarray | None = None,
        *,
        active: np.ndarray | None = None,
        point: Sequence[float] = _ORIGIN,
        damping: float = 0.01,
        rotation_weight: float = 0.5,
        q_nominal: np.ndarray | None = None,
        nullspace_gain: float = 0.0,
        max_iterations: int = 50,
        tolerance_m: float = 1e-4,
        tolerance_rad: float = 1e-3,
        max_step_rad: float = 0.2,
    ) -> IKResult:
        """Iterate :meth:`dls_step` from ``q0`` until within tolerance or ``max_iterations``.

        ``active`` (indices into the joint vector; None: the joints on the path to ``body``)
        are the joints IK may move; ``q_nominal``
        with ``nullspace_gain`` pulls the redundant motion toward a posture. Results stay
        within the joint ranges; each update's largest joint change is capped at
        ``max_step_rad``. ``rotation_weight`` [m/rad] trades orientation error against
        position error. The errors reported are those at the returned q."""
        q = self._check_q(q0).copy()
        act = self.chain_joints(body) if active is None else np.asarray(active, dtype=np.intp)
        lo, hi = self.joint_ranges[act, 0], self.joint_ranges[act, 1]
        target = np.asarray(target_pos, dtype=np.float64)
        frames = self.frames(q)
        iterations = 0
        while True:
            pull = None if q_nominal is None or nullspace_gain <= 0 else nullspace_gain * (np.asarray(q_nominal)[act] - q[act])
            dq, pos_err, rot_err = self.dls_step(
                frames, body, target, target_rot, None if active is None else act,
                point=point, damping=damping, rotation_weight=rotation_weight, nullspace_pull=pull,
            )
            if (pos_err < tolerance_m and rot_err < tolerance_rad) or iterations == max_iterations:
                break
            iterations += 1
            largest = np.abs(dq).max()
            if largest > max_step_rad:
                dq *= max_step_rad / largest
            q[act] = np.clip(q[act] + dq, lo, hi)
            frames = self.frames(q)
        return IKResult(q=q, frames=frames, position_error_m=pos_err, rotation_error_rad=rot_err, iterations=iterations)
