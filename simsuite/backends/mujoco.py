"""MuJoCo backend: compiles the neutral scene through ``mujoco.MjSpec``.

Engine facts this module relies on (see ../shared/REFERENCE.md):
- Stepping is split as dm_control does: ``mj_step1`` runs at the end of each step() so
  that positions, velocities and contacts read between steps belong to the *current*
  state (a plain ``mj_step`` leaves kinematics one step behind), and the next step()
  begins with ``mj_step2``: the same operations as plain ``mj_step``, none repeated.
- MuJoCo combines friction by taking the max of two geoms; the scene rule is the
  product. So automatic contacts are switched off (contype = conaffinity = 0) and
  every pair of colliding geoms from different top-level trees becomes an explicit
  contact pair whose friction and restitution we compute (and update by name).
- Enum comparisons are one-sided in mujoco >= 3.12: compare ``int()`` values.
"""

from __future__ import annotations

import math
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator, Mapping, NamedTuple, Sequence

import mujoco
import numpy as np

from simsuite import native
from simsuite.backends.base import (
    Backend,
    BackendError,
    Contact,
    Frame,
    RayFan,
    RayHits,
    as_ray_arrays,
    param_error,
    unknown_name,
)
from simsuite.scene import Actuator, Body, Geom, Scene
from simsuite.transforms import quat_to_mat

_GEOM_TYPE = {
    "plane": mujoco.mjtGeom.mjGEOM_PLANE,
    "box": mujoco.mjtGeom.mjGEOM_BOX,
    "sphere": mujoco.mjtGeom.mjGEOM_SPHERE,
    "capsule": mujoco.mjtGeom.mjGEOM_CAPSULE,
    "cylinder": mujoco.mjtGeom.mjGEOM_CYLINDER,
    "mesh": mujoco.mjtGeom.mjGEOM_MESH,
}
_JOINT_TYPE = {"hinge": mujoco.mjtJoint.mjJNT_HINGE, "slide": mujoco.mjtJoint.mjJNT_SLIDE}
# everything integration needs except forces from apply_force: those act for one step call
# (or are carried by keep_forces), as on PyBullet, and a restored state starts without them
_SURFACE = ("friction", "restitution", "torsional_friction", "rolling_friction")
_STATE_SPEC = int(mujoco.mjtState.mjSTATE_INTEGRATION) & ~int(mujoco.mjtState.mjSTATE_XFRC_APPLIED)
_BAD_STATE_WARNINGS = [
    int(mujoco.mjtWarning.mjWARN_BADQPOS),
    int(mujoco.mjtWarning.mjWARN_BADQVEL),
    int(mujoco.mjtWarning.mjWARN_BADQACC),
]
# consecutive in mjtWarning: one slice of the warning counters holds them
_BAD_STATE_SLICE = slice(min(_BAD_STATE_WARNINGS), max(_BAD_STATE_WARNINGS) + 1)
assert _BAD_STATE_SLICE.stop - _BAD_STATE_SLICE.start == len(_BAD_STATE_WARNINGS)
# Restitution is emulated with a direct (negative) solref spring-damper whose damping
# ratio gives the requested coefficient; the contact lasts ~_BOUNCE_STEPS physics steps.
_BOUNCE_STEPS = 10
_XBODY = mujoco.mjtObj.mjOBJ_XBODY


# Impedance of a brake's dry-friction constraint: near hard (MuJoCo's default 0.9-0.95 lets a
# held wheel creep at 1 % of the load's torque per N·m·s, and a 3 rad/s wheel keep 5 % of its
# speed through a 50 ms step); with these a held brake creeps 10x less and stops it within the step.
BRAKE_SOLIMP = (0.99, 0.999, 0.001, 0.5, 2.0)


class _ControlPlan(NamedTuple):
    """Actuator indices of a tuple of actuator names: as an array for ``set_control_array``, as
    a plain list for ``set_controls``' few scalars. No bounds: MuJoCo clamps the controls of
    actuators with a ``ctrlrange`` itself, inside the step (``mj_fwdActuation``)."""

    index: np.ndarray  # intp, as native.put takes it
    index_list: list[int]


class MujocoBackend(Backend):
    name = "mujoco"

    def __init__(self) -> None:
        super().__init__()
        self.model: mujoco.MjModel | None = None
        self.data: mujoco.MjData | None = None

    # -- compile -----------------------------------------------------------------
    def compile(self, scene: Scene) -> None:
        scene.validate()
        self.scene = scene
        spec = mujoco.MjSpec()
        spec.modelname = scene.name
        spec.option.timestep = scene.timestep_s
        spec.option.gravity = list(scene.gravity)
        spec.option.integrator = mujoco.mjtIntegrator.mjINT_EULER
        spec.option.cone = mujoco.mjtCone.mjCONE_ELLIPTIC if scene.friction_cone == "elliptic" else mujoco.mjtCone.mjCONE_PYRAMIDAL
        spec.compiler.degree = False
        colliding: list[tuple[Geom, int, bool]] = []  # geom, tree index, geom moves
        self._mesh_assets: dict[tuple[str, tuple[float, ...]], str] = {}
        for tree, root in enumerate(scene.bodies):
            self._add_body(spec, spec.worldbody, root, scene, tree, False, colliding)
        for act in scene.actuators:
            _add_actuator(spec, act)
        self._pairs = _contact_pairs(colliding)
        for g1, g2 in self._pairs:
            spec.add_pair(name=f"{g1.name}__{g2.name}", geomname1=g1.name, geomname2=g2.name, condim=_condim(g1, g2))
        try:
            self.model = spec.compile()
        except ValueError as exc:
            raise BackendError(f"MuJoCo could not compile scene {scene.name!r}: {exc}") from exc
        self.data = mujoco.MjData(self.model)
        # hold_commands: substeps left to hold, and the buffers the new commands go to meanwhile
        self._held: int | None = None
        self._ctrl_staged = np.zeros(self.model.nu) if self.model.nu else None
        self._xfrc_staged = np.zeros((self.model.nbody, 6))
        self._bad_state_counters = self.data.warning.number[_BAD_STATE_SLICE]  # a view into mjData
        # views into mjData, made once: each attribute access on mjData builds a new array object
        self._qpos_view, self._qvel_view = self.data.qpos, self.data.qvel
        self._xpos_view, self._xquat_view, self._xipos_view = self.data.xpos, self.data.xquat, self.data.xipos
        self._ctrl_data, self._xfrc_data = self.data.ctrl, self.data.xfrc_applied
        self._ctrl_view, self._xfrc_view = self._ctrl_data, self._xfrc_data  # where commands are written (see hold_commands)
        self._index_names()
        self._index_brakes(scene)
        self._nominal = {
            "body_mass": self.model.body_mass.copy(),
            "body_inertia": self.model.body_inertia.copy(),
            "actuator_gainprm": self.model.actuator_gainprm.copy(),
            "actuator_biasprm": self.model.actuator_biasprm.copy(),
        }
        self._geom_friction = {g.name: g.friction for g, _, _ in colliding}
        self._geom_restitution = {g.name: g.restitution for g, _, _ in colliding}
        self._surface = {  # per-geom surface tables; contacts use the product of the two geoms'
            "friction": self._geom_friction, "restitution": self._geom_restitution,
            "torsional_friction": {g.name: g.torsional_friction for g, _, _ in colliding},
            "rolling_friction": {g.name: g.rolling_friction for g, _, _ in colliding},
        }
        self._inertia_scale = {name: 1.0 for name in self._body_ids}
        self._update_pairs()
        self._apply_body_damping()
        # Joint.initial goes into the reset state, not qpos0: qpos0 is also each joint's zero.
        self._initial_qpos = self.model.qpos0.copy()
        for joint in scene.joints():
            if joint.type != "free":
                self._initial_qpos[self.model.jnt_qposadr[self._joint_ids[joint.name]]] = joint.initial
        self._param_names = self._list_params()
        self._param_set = set(self._param_names)
        self._state_size = mujoco.mj_stateSize(self.model, _STATE_SPEC)
        self.reset()

    def _add_body(self, spec, parent, body: Body, scene: Scene, tree: int, parent_moves: bool, colliding: list) -> None:
        """Add ``body`` and its subtree; a body moves if it or an ancestor has a joint."""
        b = parent.add_body(name=body.name, pos=list(body.pos), quat=list(body.quat))
        moves = parent_moves or body.joint is not None
        if moves:
            inertial = body.mass_properties(_mesh_dir(scene))
            b.explicitinertial = True
            b.mass = inertial.mass_kg
            b.inertia = list(inertial.diag_inertia)
            b.ipos = list(inertial.pos)
            b.iquat = list(inertial.quat)
        joint = body.joint
        if joint is not None and joint.type == "free":
            b.add_freejoint(name=joint.name)
        elif joint is not None:
            j = b.add_joint(name=joint.name, type=_JOINT_TYPE[joint.type], axis=list(joint.axis))
            j.damping = [joint.damping, 0.0, 0.0]  # mujoco 4: (linear, quadratic, cubic) terms
            j.armature = joint.armature
            if joint.range is not None:
                j.limited = mujoco.mjtLimited.mjLIMITED_TRUE
                j.range = list(joint.range)
        for geom in body.geoms:
            if geom.collide:  # visual-only geoms are the renderer's business, not physics
                self._add_geom(spec, b, geom, scene)
                colliding.append((geom, tree, moves))
        for site in body.sites:
            b.add_site(name=site.name, pos=list(site.pos), quat=list(site.quat))
        for child in body.children:
            self._add_body(spec, b, child, scene, tree, moves, colliding)

    def _add_geom(self, spec, b, geom: Geom, scene: Scene) -> None:
        g = b.add_geom(name=geom.name, type=_GEOM_TYPE[geom.type], pos=list(geom.pos), quat=list(geom.quat))
        g.contype = 0
        g.conaffinity = 0
        g.rgba = list(geom.rgba)
        g.friction = [geom.friction, geom.torsional_friction, geom.rolling_friction]
        if geom.type == "mesh":
            g.meshname = self._mesh_asset(spec, str(scene.resolve_mesh(geom.mesh)), tuple(geom.mesh_scale))
        elif geom.type == "plane":
            g.size = [geom.size[0], geom.size[1], 1.0]
        else:
            g.size = list(geom.size) + [0.0] * (3 - len(geom.size))

    def _mesh_asset(self, spec, path: str, scale: tuple[float, ...]) -> str:
        """One mesh asset per (file, scale), shared by every geom that uses it."""
        key = (path, scale)
        if key not in self._mesh_assets:
            name = f"mesh{len(self._mesh_assets)}"
            spec.add_mesh(name=name, file=path, scale=list(scale))
            self._mesh_assets[key] = name
        return self._mesh_assets[key]

    def _index_names(self) -> None:
        m, scene = self.model, self.scene
        obj = mujoco.mjtObj
        self._names = tuple(scene.body_names())
        self._body_ids = {n: mujoco.mj_name2id(m, obj.mjOBJ_BODY, n) for n in self._names}
        self._body_id_array = np.array([self._body_ids[n] for n in self._names], dtype=np.intp)
        self._static_body_ids = {bid for bid in self._body_ids.values() if m.body_weldid[bid] == 0}
        self._free_addresses = {}  # free body -> (qpos, qvel) address of its joint
        for bid in self._body_ids.values():
            jid = m.body_jntadr[bid]
            if m.body_jntnum[bid] == 1 and int(m.jnt_type[jid]) == int(mujoco.mjtJoint.mjJNT_FREE):
                self._free_addresses[mujoco.mj_id2name(m, obj.mjOBJ_BODY, bid)] = (int(m.jnt_qposadr[jid]), int(m.jnt_dofadr[jid]))
        # MuJoCo body id -> index into self._names (the world maps to -1)
        self._body_index_of_id = np.full(m.nbody, -1, dtype=np.int32)
        self._body_index_of_id[self._body_id_array] = np.arange(len(self._names), dtype=np.int32)
        # geom id -> body row, with a last entry -1 that geom id -1 (a ray miss) indexes
        self._body_index_of_geom = np.append(self._body_index_of_id[m.geom_bodyid], -1).astype(np.int32)
        self._joint_ids = {j.name: mujoco.mj_name2id(m, obj.mjOBJ_JOINT, j.name) for j in scene.joints()}
        self._actuator_ids = {a.name: i for i, a in enumerate(scene.actuators)}
        self._address_cache: dict[tuple[str, ...], tuple[np.ndarray, np.ndarray]] = {}
        self._batching = False  # inside batched_params()
        self._pending_updates: set[Callable[[], None]] = set()  # derived updates parameter writes left to do
        self._joint_scalar: dict[str, tuple[int, int]] = {}  # joint name -> (qpos, qvel) address
        self._body_id_cache: dict[tuple[str, ...], np.ndarray] = {}
        self._control_plans: dict[tuple[str, ...], _ControlPlan] = {}
        self._site_ids = {
            s.name: mujoco.mj_name2id(m, obj.mjOBJ_SITE, s.name) for b, _, _ in scene.walk() for s in b.sites
        }
        self._geom_ids = {g.name: mujoco.mj_name2id(m, obj.mjOBJ_GEOM, g.name) for b, _, _ in scene.walk() for g in b.geoms if g.collide}
        self._geoms_of_body = {b.name: [g.name for g in b.geoms if g.collide] for b, _, _ in scene.walk()}
        self._pair_g1 = np.array([self._geom_ids[a.name] for a, _ in self._pairs], dtype=np.int64)
        self._pair_g2 = np.array([self._geom_ids[b.name] for _, b in self._pairs], dtype=np.int64)

    # -- lifecycle -----------------------------------------------------------------
    def reset(self) -> None:
        m, d = self._require()
        mujoco.mj_resetData(m, d)
        d.qpos[:] = self._initial_qpos
        self._pending_xfrc = False
        self._drop_hold()
        self._warnings_seen = self._bad_state_count()
        self._diverged = False
        mujoco.mj_step1(m, d)

    def step(self, n_substeps: int = 1, *, keep_forces: bool = False) -> None:
        m, d = self.model, self.data  # _require()'s check, without its call: this runs every step
        if d is None:
            self._require()
        if n_substeps < 1:
            raise BackendError(f"n_substeps must be >= 1, got {n_substeps}")
        # Finish the step whose first half ran last time, take the rest as whole steps
        # in C, and run the first half of the next one so that queries see this state.
        if self._held is not None:
            self._step_held(m, d, n_substeps)
        else:
            if self._brake_ids is not None:
                self._sync_brakes(m, d)
            mujoco.mj_step2(m, d)
            if n_substeps > 1:
                mujoco.mj_step(m, d, n_substeps - 1)
        mujoco.mj_step1(m, d)
        if self._pending_xfrc and not keep_forces and self._held is None:  # (held forces have not acted yet)
            self._xfrc_view.fill(0.0)
            self._pending_xfrc = False

    def hold_commands(self, substeps: int) -> None:
        if self.data is None:
            self._require()
        if substeps < 1:
            raise BackendError(f"hold_commands needs substeps >= 1, got {substeps}")
        if self._held is None:  # controls and forces given from now on go to staging buffers
            if self._ctrl_staged is not None:
                self._ctrl_staged[:] = self._ctrl_view  # (a control not given keeps its value)
                self._ctrl_view = self._ctrl_staged
            self._xfrc_view = self._xfrc_staged  # zeros: forces given start from none
        self._held = substeps

    def _step_held(self, m: mujoco.MjModel, d: mujoco.MjData, n_substeps: int) -> None:
        """step()'s substeps under hold_commands: mjData keeps the held controls and forces for
        the held substeps, then takes the staged ones. Controls and applied forces enter
        MuJoCo's step only in its second half (mj_step2), so swapping them between whole
        steps gives the same numbers as a step split in two calls."""
        k = min(n_substeps, self._held)
        if self._brake_ids is not None:
            self._sync_brakes(m, d)
        mujoco.mj_step2(m, d)
        if k > 1:
            mujoco.mj_step(m, d, k - 1)
        if k < self._held:  # a caller stepping in chunks (sensors) ended one inside the hold
            self._held -= k
            return
        self._held = None  # the staged controls and forces take effect
        if self._ctrl_staged is not None:
            self._ctrl_view = self._ctrl_data
            self._ctrl_data[:] = self._ctrl_staged
            if self._brake_ids is not None:
                self._sync_brakes(m, d)
        self._xfrc_view = self._xfrc_data
        self._xfrc_data[:] = self._xfrc_staged
        self._xfrc_staged.fill(0.0)
        self._pending_xfrc = True
        if n_substeps > k:
            mujoco.mj_step(m, d, n_substeps - k)

    def _drop_hold(self) -> None:
        """A reset, restored state or new scene: nothing stays held or staged."""
        self._held = None
        self._ctrl_view, self._xfrc_view = self._ctrl_data, self._xfrc_data
        self._xfrc_staged.fill(0.0)

    def _index_brakes(self, scene: Scene) -> None:
        """Brake actuators (their ids and the dofs they hold), or None when the scene has none."""
        m, acts = self.model, scene.actuators
        ids = [i for i, act in enumerate(acts) if act.kind == "brake"]
        self._brake_ids = np.array(ids, dtype=np.intp) if ids else None
        if ids:
            self._brake_dofs = np.array([m.jnt_dofadr[self._joint_id(acts[i].joint)] for i in ids], dtype=np.intp)
            m.dof_solimp[self._brake_dofs] = BRAKE_SOLIMP
            self._brake_ctrl = np.array([acts[i].ctrl_range or (-math.inf, math.inf) for i in ids], dtype=np.float64).T  # (lo, hi) rows
            self._brake_max = np.array([(acts[i].force_range or (0.0, math.inf))[1] for i in ids])

    def _sync_brakes(self, m, d) -> None:
        """Brake commands -> the joints' dry friction (MuJoCo's frictionloss, a constraint). Its
        rows are built with the position stage, so a change reruns it before the step goes on."""
        ids = self._brake_ids
        lo, hi = self._brake_ctrl
        ctrl = np.minimum(np.maximum(d.ctrl[ids], lo), hi)
        friction = np.minimum(np.maximum(m.actuator_gainprm[ids, 0] * ctrl, 0.0), self._brake_max)  # gainprm: gear x gain
        if not np.array_equal(friction, m.dof_frictionloss[self._brake_dofs]):
            m.dof_frictionloss[self._brake_dofs] = friction
            mujoco.mj_step1(m, d)

    @property
    def diverged(self) -> bool:
        """Read once per control step, not per step call: MuJoCo's bad-state warning
        counters only grow, so one look sees every blow-up since the last."""
        if not self._diverged and self.data is not None:
            count = sum(self._bad_state_counters.tolist())  # as _bad_state_count(), one call fewer per step
            if count != self._warnings_seen:
                self._diverged = True
                self._warnings_seen = count
        return self._diverged

    def close(self) -> None:
        self.model = None
        self.data = None
        self._qpos_view = self._qvel_view = self._ctrl_view = self._bad_state_counters = None  # they keep mjData alive
        self._xpos_view = self._xquat_view = self._xipos_view = self._xfrc_view = None
        self._ctrl_data = self._xfrc_data = None

    @property
    def time_s(self) -> float:
        d = self.data  # tasks key their once-per-step reads on it: kept to one attribute read
        if d is None:
            self._require()
        return d.time

    def _require(self) -> tuple[mujoco.MjModel, mujoco.MjData]:
        if self.model is None or self.data is None:
            raise BackendError("the MuJoCo backend has no compiled scene (call compile() first, or it was closed)")
        return self.model, self.data

    def _bad_state_count(self) -> int:
        return sum(self._bad_state_counters.tolist())  # Python ints: numpy's sum costs ~10x

    # -- state ---------------------------------------------------------------------
    def get_state(self) -> np.ndarray:
        m, d = self._require()
        state = np.empty(self._state_size)
        mujoco.mj_getState(m, d, state, _STATE_SPEC)
        return state

    def set_state(self, state: np.ndarray) -> None:
        m, d = self._require()
        state = np.asarray(state, dtype=np.float64)
        if state.shape != (self._state_size,):
            raise BackendError(f"MuJoCo state must have shape ({self._state_size},), got {state.shape}")
        if not np.all(np.isfinite(state)):
            raise BackendError("MuJoCo state contains NaN or inf")
        mujoco.mj_setState(m, d, state, _STATE_SPEC)
        d.xfrc_applied[:] = 0.0
        self._pending_xfrc = False
        self._drop_hold()
        mujoco.mj_step1(m, d)

    def set_body_pose(self, body: str, pos: Sequence[float], quat: Sequence[float] | None = None) -> None:
        m, d = self._require()
        adr = self._free_addresses.get(body)
        if adr is None:
            self._body_id(body)  # an unknown name is its own error
            raise BackendError(f"set_body_pose needs a free body; {body!r} is not free")
        adr, vadr = adr
        qpos = self._qpos_view
        qpos[adr : adr + 3] = pos
        if quat is not None:
            q = np.asarray(quat, dtype=np.float64)
            qpos[adr + 3 : adr + 7] = q / math.sqrt(q.dot(q))  # np.linalg.norm's own arithmetic
        self._qvel_view[vadr : vadr + 6] = 0.0
        mujoco.mj_step1(m, d)

    def set_joint_position(self, joint: str, value: float, velocity: float = 0.0) -> None:
        m, d = self._require()
        jid = self._joint_id(joint)
        d.qpos[m.jnt_qposadr[jid]] = value
        d.qvel[m.jnt_dofadr[jid]] = velocity
        mujoco.mj_step1(m, d)

    # -- controls and forces ---------------------------------------------------------
    def set_controls(self, controls: Mapping[str, float]) -> None:
        _, d = self._require()
        names = tuple(controls)
        plan = self._control_plans.get(names)
        if plan is None:
            plan = self._control_plan(names)
        try:  # plain floats: a task sets a handful of commands, where numpy's call cost dominates
            values = [float(v) for v in controls.values()]
        except (TypeError, ValueError):
            raise BackendError(f"actuator commands must be numbers, got {dict(controls)!r}") from None
        if not all(map(math.isfinite, values)):
            raise BackendError(f"actuator commands must be finite, got {dict(controls)!r}")
        ctrl = self._ctrl_view
        for i, v in zip(plan.index_list, values):  # all or nothing: every value was checked first
            ctrl[i] = v

    def set_control_array(self, actuators: tuple[str, ...], values: np.ndarray) -> None:
        if self.data is None:
            self._require()
        plan = self._control_plans.get(actuators)
        if plan is None:
            plan = self._control_plan(tuple(actuators))
        try:
            changed = native.put(self._ctrl_view, plan.index, values, None, None)
        except ValueError:
            raise BackendError(f"set_control_array: {len(plan.index)} actuators but values of shape {np.shape(values)}") from None
        if changed < 0:
            raise BackendError(f"actuator commands must be finite, got {values}")

    def _control_plan(self, names: tuple[str, ...]) -> _ControlPlan:
        """Actuator indices for a tuple of names, cached (tasks repeat it)."""
        for name in names:
            if name not in self._actuator_ids:
                raise unknown_name("actuator", name, list(self._actuator_ids))
        idx = [self._actuator_ids[n] for n in names]
        plan = _ControlPlan(np.array(idx, dtype=np.intp), idx)
        self._control_plans[names] = plan
        return plan

    def apply_force(self, body, force_n=(0.0, 0.0, 0.0), torque_nm=(0.0, 0.0, 0.0), point=None, frame: Frame = "world") -> None:
        m, d = self._require()
        bid = self._body_id(body)
        if bid in self._static_body_ids:
            raise BackendError(f"apply_force: body {body!r} is static (welded to the world)")
        if frame not in ("world", "body"):
            raise BackendError(f"frame must be 'world' or 'body', got {frame!r}")
        force, torque = _vec3(force_n, body, "force"), _vec3(torque_nm, body, "torque")
        # plain floats: this runs every control step, and numpy's per-call cost dominates at size 3
        rot = d.xmat[bid].tolist() if frame == "body" or (point is not None and not isinstance(point, str)) else None
        if frame == "body":
            force, torque = _mat_vec(rot, force), _mat_vec(rot, torque)
        origin = self._xpos_view[bid].tolist()
        if point is None:
            point_w = origin
        elif isinstance(point, str):
            point_w = self.site_pose(point)[0].tolist()
        else:
            p = _vec3(point, body, "point")
            point_w = [o + r for o, r in zip(origin, _mat_vec(rot, p))] if frame == "body" else p
        # MuJoCo applies xfrc at the body's centre of mass: move the force there.
        com = self._xipos_view[bid].tolist()
        rx, ry, rz = point_w[0] - com[0], point_w[1] - com[1], point_w[2] - com[2]
        fx, fy, fz = force
        xfrc = self._xfrc_view[bid]
        xfrc += (fx, fy, fz, torque[0] + ry * fz - rz * fy, torque[1] + rz * fx - rx * fz, torque[2] + rx * fy - ry * fx)
        self._pending_xfrc = True

    # -- kinematics --------------------------------------------------------------------
    @property
    def body_names(self) -> tuple[str, ...]:
        return self._names

    def body_pose(self, body: str) -> tuple[np.ndarray, np.ndarray]:
        self._require()
        bid = self._body_id(body)
        return self._xpos_view[bid].copy(), self._xquat_view[bid].copy()

    def body_poses(self, bodies: Sequence[str] | None = None) -> tuple[np.ndarray, np.ndarray]:
        if self.data is None:
            self._require()
        if bodies is None:
            ids = self._body_id_array
        else:
            ids = self._body_id_cache.get(bodies) if isinstance(bodies, tuple) else None
            if ids is None:
                if isinstance(bodies, str):
                    raise BackendError(f"body_poses takes a sequence of body names, got the string {bodies!r}")
                ids = np.array([self._body_id(name) for name in bodies], dtype=np.intp)
                self._body_id_cache[tuple(bodies)] = ids
        return native.take(self._xpos_view, ids), native.take(self._xquat_view, ids)

    def body_motion(self, body: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        m, d = self._require()
        bid = self._body_id(body)
        vel = np.empty(6)  # fresh per call: the two halves returned are views of it
        mujoco.mj_objectVelocity(m, d, _XBODY, bid, vel, 0)
        return self._xpos_view[bid].copy(), self._xquat_view[bid].copy(), vel[3:], vel[:3]

    def body_velocity(self, body: str, frame: Frame = "world") -> tuple[np.ndarray, np.ndarray]:
        m, d = self._require()
        if frame not in ("world", "body"):
            raise BackendError(f"frame must be 'world' or 'body', got {frame!r}")
        vel = np.empty(6)  # fresh per call: the two halves returned are views of it
        mujoco.mj_objectVelocity(m, d, _XBODY, self._body_id(body), vel, frame == "body")
        return vel[3:], vel[:3]

    def site_pose(self, site: str) -> tuple[np.ndarray, np.ndarray]:
        _, d = self._require()
        sid = self._site_ids.get(site)
        if sid is None:
            raise unknown_name("site", site, list(self._site_ids))
        quat = np.zeros(4)
        mujoco.mju_mat2Quat(quat, d.site_xmat[sid])
        return d.site_xpos[sid].copy(), quat

    def joint_state(self, joint: str) -> tuple[float, float]:
        self._require()
        adr = self._joint_scalar.get(joint)
        if adr is None:
            m, jid = self.model, self._joint_id(joint)
            adr = self._joint_scalar[joint] = (int(m.jnt_qposadr[jid]), int(m.jnt_dofadr[jid]))
        return float(self._qpos_view[adr[0]]), float(self._qvel_view[adr[1]])

    def joint_states(self, joints: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        if self.data is None:
            self._require()
        key = joints if type(joints) is tuple else tuple(joints)  # tasks often keep a list
        qadr, vadr = self._address_cache.get(key) or self._joint_addresses(key)
        return native.take(self._qpos_view, qadr), native.take(self._qvel_view, vadr)

    def _joint_addresses(self, joints: tuple[str, ...]) -> tuple[np.ndarray, np.ndarray]:
        """qpos and qvel indices of ``joints``, cached per tuple of names."""
        cached = self._address_cache.get(joints)
        if cached is None:
            m = self.model
            ids = [self._joint_id(j) for j in joints]
            # intp: numpy indexes with it directly (MuJoCo's int32 addresses cost a cast per read)
            cached = (m.jnt_qposadr[ids].astype(np.intp), m.jnt_dofadr[ids].astype(np.intp))
            self._address_cache[joints] = cached
        return cached

    def set_body_velocity(self, body, linear_m_s, angular_rad_s=(0.0, 0.0, 0.0)) -> None:
        m, d = self._require()
        bid = self._body_id(body)
        if body not in self._free_addresses:
            raise BackendError(f"set_body_velocity needs a free body; {body!r} is not free")
        lin, ang = np.asarray(linear_m_s, float), np.asarray(angular_rad_s, float)
        if lin.shape != (3,) or ang.shape != (3,) or not math.isfinite(lin @ lin + ang @ ang) and not (np.isfinite(lin).all() and np.isfinite(ang).all()):
            raise BackendError(f"set_body_velocity on {body!r}: velocities must be finite 3-vectors")
        vadr = self._free_addresses[body][1]
        # free joint qvel: linear velocity of the body frame origin in world axes, then
        # angular velocity in body axes
        d.qvel[vadr : vadr + 3] = lin
        d.qvel[vadr + 3 : vadr + 6] = quat_to_mat(d.xquat[bid]).T @ ang
        mujoco.mj_step1(m, d)

    def contacts(self, body: str) -> list[Contact]:
        m, d = self._require()
        bid = self._body_id(body)
        found, wrench = [], np.zeros(6)
        for i in range(d.ncon):
            c = d.contact[i]
            b1, b2 = m.geom_bodyid[c.geom1], m.geom_bodyid[c.geom2]
            if bid not in (b1, b2):
                continue
            mujoco.mj_contactForce(m, d, i, wrench)
            normal = np.array(c.frame[:3])  # points from geom1 to geom2
            other = b2 if b1 == bid else b1
            into_body = -normal if b1 == bid else normal
            found.append(Contact(body, self._names[self._body_index_of_id[other]], c.pos.copy(), into_body, float(wrench[0]), float(c.dist)))
        return found

    # -- rays ------------------------------------------------------------------------
    def cast_rays(self, origins, directions, max_range_m: float = 100.0, *, unit_directions: bool = False) -> RayHits:
        m, d = self._require()
        origins, directions = as_ray_arrays(origins, directions, unit_directions)
        n = len(directions)
        geom = np.empty(n, dtype=np.int32)
        dist = np.empty(n)
        if origins.shape == (3,):  # one origin (a LIDAR scan): one mj_multiRay call
            mujoco.mj_multiRay(m, d, origins, directions.ravel(), None, 1, -1, geom, dist, None, n, max_range_m)
        else:
            self._rays_by_origin(origins, directions, max_range_m, geom, dist)
        return self._ray_hits(geom, dist, max_range_m)

    def ray_fan(self, body: str, directions: np.ndarray, origin: Sequence[float] = (0.0, 0.0, 0.0), max_range_m: float = 100.0) -> RayFan:
        return _MujocoRayFan(self, body, directions, origin, max_range_m)

    def _ray_hits(self, geom: np.ndarray, dist: np.ndarray, max_range_m: float) -> RayHits:
        """mj_multiRay's outputs as RayHits: it marks a miss with geom -1 and distance -1, and
        may report a hit beyond the cutoff (it culls geoms, not hits); RayHits reads both as
        misses when its distances or body rows are asked for."""
        return RayHits(dist, max_range_m, self._names, geom, self._body_index_of_geom)  # its last entry serves geom -1

    def _rays_by_origin(self, origins: np.ndarray, directions: np.ndarray, max_range_m: float, geom: np.ndarray, dist: np.ndarray) -> None:
        """mj_multiRay takes one origin: group the rays by origin, one call per group."""
        m, d = self.model, self.data
        unique, inverse = np.unique(origins, axis=0, return_inverse=True)
        order = np.argsort(inverse.ravel(), kind="stable")
        bounds = np.searchsorted(inverse.ravel()[order], np.arange(len(unique) + 1))
        for k, origin in enumerate(unique):
            rows = order[bounds[k] : bounds[k + 1]]
            g_out, d_out = np.empty(len(rows), dtype=np.int32), np.empty(len(rows))
            vec = np.ascontiguousarray(directions[rows]).ravel()
            mujoco.mj_multiRay(m, d, np.ascontiguousarray(origin), vec, None, 1, -1, g_out, d_out, None, len(rows), max_range_m)
            geom[rows], dist[rows] = g_out, d_out

    # -- parameters -------------------------------------------------------------------
    def param_names(self) -> list[str]:
        return list(self._param_names)

    def _list_params(self) -> list[str]:
        """Every parameter name of the compiled scene (computed once per compile)."""
        names = ["gravity", "timestep_s"]
        for body in self._names:
            if self.model.body_mass[self._body_ids[body]] > 0:
                names += [f"{body}.mass_kg", f"{body}.inertia_scale"]
            if self.scene.body(body).is_free:
                names += [f"{body}.linear_damping", f"{body}.angular_damping"]
            if self._geoms_of_body[body]:
                names += [f"{body}.{prop}" for prop in _SURFACE]
        for geom in self._geom_friction:
            if geom not in self._body_ids:
                names += [f"{geom}.{prop}" for prop in _SURFACE]
        names += [f"{j}.damping" for j, jid in self._joint_ids.items() if int(self.model.jnt_type[jid]) != int(mujoco.mjtJoint.mjJNT_FREE)]
        names += [f"{a}.gain" for a in self._actuator_ids]
        return names

    def get_param(self, name: str) -> float | np.ndarray:
        m, _ = self._require()
        if name == "gravity":
            return m.opt.gravity.copy()
        if name == "timestep_s":
            return float(m.opt.timestep)
        owner, _, prop = name.rpartition(".")
        if owner in self._body_ids and prop in ("mass_kg", "inertia_scale", "linear_damping", "angular_damping"):
            body = self._body_ids[owner]
            if prop == "mass_kg":
                return float(m.body_mass[body])
            if prop == "inertia_scale":
                return self._inertia_scale[owner]
            return float(getattr(self.scene.body(owner), prop))
        if prop in _SURFACE:
            table = self._surface[prop]
            geoms = self._geoms_of_body.get(owner) or ([owner] if owner in table else [])
            if geoms:
                return float(table[geoms[0]])
        if prop == "damping" and owner in self._joint_ids:
            return float(m.dof_damping[m.jnt_dofadr[self._joint_ids[owner]]])
        if prop == "gain" and owner in self._actuator_ids:
            idx = self._actuator_ids[owner]
            return float(m.actuator_gainprm[idx, 0] / self._nominal["actuator_gainprm"][idx, 0])
        raise param_error(name, self.param_names())

    def set_param(self, name: str, value: float | Sequence[float]) -> None:
        m, d = self._require()
        if name == "gravity":
            g = np.asarray(value, float)
            if g.shape != (3,) or not np.all(np.isfinite(g)):
                raise BackendError(f"gravity must be a finite 3-vector, got {value!r}")
            m.opt.gravity[:] = g
            return
        v = _finite_scalar(name, value)
        if name == "timestep_s":
            if v <= 0:
                raise BackendError(f"timestep_s must be > 0, got {v}")
            m.opt.timestep = v
            return
        owner, _, prop = name.rpartition(".")
        if owner in self._body_ids and prop in ("mass_kg", "inertia_scale", "linear_damping", "angular_damping"):
            if name not in self._param_set:
                raise param_error(name, self._param_names)
            self._set_body_param(owner, prop, v)
        elif prop in _SURFACE and (self._geoms_of_body.get(owner) or owner in self._geom_friction):
            table = self._surface[prop]
            if v < 0 or (prop == "restitution" and v > 1):
                raise BackendError(f"{name} must be >= 0 (restitution <= 1), got {v}")
            for geom in self._geoms_of_body.get(owner) or [owner]:
                table[geom] = v
            self._pending_updates.add(self._update_pairs)
        elif prop == "damping" and owner in self._joint_ids and name in self._param_set:
            m.dof_damping[m.jnt_dofadr[self._joint_ids[owner]]] = _non_negative(name, v)
        elif prop == "gain" and owner in self._actuator_ids:
            idx = self._actuator_ids[owner]
            m.actuator_gainprm[idx] = self._nominal["actuator_gainprm"][idx] * v
            m.actuator_biasprm[idx] = self._nominal["actuator_biasprm"][idx] * v
        else:
            raise param_error(name, self.param_names())
        if not self._batching:
            self._finish_param_writes()

    @contextmanager
    def batched_params(self) -> Iterator[None]:
        """Contact pairs, body damping and the forward pass follow the writes once, at the end."""
        self._require()
        self._batching = True
        try:
            yield
        finally:
            self._batching = False
            self._finish_param_writes()

    def _finish_param_writes(self) -> None:
        """What parameter writes leave to do: the derived tables they touched, then the first
        half step again, so that queries see the new model."""
        for update in self._pending_updates:
            update()
        self._pending_updates.clear()
        mujoco.mj_step1(self.model, self.data)

    def _set_body_param(self, body: str, prop: str, v: float) -> None:
        m = self.model
        bid = self._body_ids[body]
        if m.body_mass[bid] == 0 and prop in ("mass_kg", "inertia_scale"):
            raise BackendError(f"body {body!r} is static; its {prop} cannot be set")
        if prop == "mass_kg":
            if v <= 0:
                raise BackendError(f"{body}.mass_kg must be > 0, got {v}")
            m.body_mass[bid] = v  # inertia stays: mass added at the COM (inertia_scale is separate)
        elif prop == "inertia_scale":
            if v <= 0:
                raise BackendError(f"{body}.inertia_scale must be > 0, got {v}")
            m.body_inertia[bid] *= v / self._inertia_scale[body]
            self._inertia_scale[body] = v
        else:
            setattr(self.scene.body(body), prop, _non_negative(f"{body}.{prop}", v))
        if prop in ("mass_kg", "inertia_scale"):
            self._pending_updates.add(self._set_const)
        self._pending_updates.add(self._apply_body_damping)  # drag scales with mass and inertia

    def _set_const(self) -> None:
        """Mass and inertia feed constants that MuJoCo derives once at compile: the subtree
        masses (a free body's mass matrix reads them: without this, gravity would follow a
        new mass and inertia would not) and the constraint weights. ``mj_setConst`` recomputes
        them at qpos0 with the data as scratch, so the state is kept around it."""
        m, d = self.model, self.data
        state = np.empty(self._state_size)
        mujoco.mj_getState(m, d, state, _STATE_SPEC)
        mujoco.mj_setConst(m, d)
        mujoco.mj_setState(m, d, state, _STATE_SPEC)

    def _update_pairs(self) -> None:
        """Recompute every explicit contact pair's friction and restitution (product rule)."""
        m = self.model
        if m.npair == 0:
            return
        gids = [self._geom_ids[g] for g in self._geom_friction]
        mu, e, tor, rol = (np.zeros(m.ngeom) for _ in range(4))
        for column, prop in ((mu, "friction"), (e, "restitution"), (tor, "torsional_friction"), (rol, "rolling_friction")):
            column[gids] = list(self._surface[prop].values())  # the tables share the colliding geoms' order
        slide = mu[self._pair_g1] * mu[self._pair_g2]
        spin = tor[self._pair_g1] * tor[self._pair_g2]
        roll = rol[self._pair_g1] * rol[self._pair_g2]
        m.pair_friction[:] = np.stack([slide, slide, spin, roll, roll], axis=1)
        # the contact's dimension follows: rolling needs 6, torsional 4 (set at run time too)
        m.pair_dim[:] = np.where(roll > 0, 6, np.where(spin > 0, 4, 3))
        m.pair_solref[:] = _restitution_solref(e[self._pair_g1] * e[self._pair_g2], m.opt.timestep)

    def _apply_body_damping(self) -> None:
        """Body drag (force = −c·m·v) maps onto a free joint's dof damping in MuJoCo."""
        m = self.model
        for body, _, _ in self.scene.walk():
            if not body.is_free:
                continue
            bid = self._body_ids[body.name]
            dof = m.jnt_dofadr[m.body_jntadr[bid]]
            m.dof_damping[dof : dof + 3] = body.linear_damping * m.body_mass[bid]
            m.dof_damping[dof + 3 : dof + 6] = body.angular_damping * m.body_inertia[bid]

    # -- lookups ---------------------------------------------------------------------
    def body_index(self, body: str) -> int:
        return int(self._body_index_of_id[self._body_id(body)])

    def _body_id(self, name: str) -> int:
        bid = self._body_ids.get(name)
        if bid is None:
            raise unknown_name("body", name, list(self._body_ids))
        return bid

    def _joint_id(self, name: str) -> int:
        jid = self._joint_ids.get(name)
        if jid is None or int(self.model.jnt_type[jid]) == int(mujoco.mjtJoint.mjJNT_FREE):
            raise unknown_name("hinge or slide joint", name, [j for j in self._joint_ids])
        return jid


def _vec3(value: object, body: str, what: str) -> list[float]:
    """Three finite floats, or a BackendError that says which argument is wrong."""
    try:
        if type(value) is np.ndarray and value.dtype.kind in "fiu":  # one conversion, not three
            value = value.tolist()
        x, y, z = value  # type: ignore[misc]
        x, y, z = float(x), float(y), float(z)
    except (TypeError, ValueError):
        raise BackendError(f"apply_force on {body!r}: {what} must be a 3-vector, got {value!r}") from None
    if not (math.isfinite(x) and math.isfinite(y) and math.isfinite(z)):
        raise BackendError(f"apply_force on {body!r}: {what} must be finite, got {value!r}")
    return [x, y, z]


def _mat_vec(rot: list[float], v: list[float]) -> list[float]:
    """Row-major 3×3 matrix (MuJoCo's xmat) times a 3-vector."""
    return [rot[0] * v[0] + rot[1] * v[1] + rot[2] * v[2], rot[3] * v[0] + rot[4] * v[1] + rot[5] * v[2], rot[6] * v[0] + rot[7] * v[1] + rot[8] * v[2]]


def _mesh_dir(scene: Scene) -> Path | None:
    return Path(scene.mesh_dir) if scene.mesh_dir else None


def _add_actuator(spec, act: Actuator) -> None:
    a = spec.add_actuator(name=act.name, target=act.joint, trntype=mujoco.mjtTrn.mjTRN_JOINT)
    gain, bias = np.zeros(10), np.zeros(10)
    if act.kind == "position":
        gain[0], bias[1], bias[2] = act.kp, -act.kp, -act.kv
    elif act.kind == "velocity":
        gain[0], bias[2] = act.kv, -act.kv
    else:  # torque: u = gear·ctrl, clipped as a force, so the gain carries the gear
        gain[0] = act.gear
    if act.kind == "brake":  # no force through the joint: step() turns gain·ctrl into the joint's dry friction
        a.gear = [0.0] * 6
    a.gaintype = mujoco.mjtGain.mjGAIN_FIXED
    a.biastype = mujoco.mjtBias.mjBIAS_AFFINE
    a.gainprm = list(gain)
    a.biasprm = list(bias)
    if act.ctrl_range is not None:
        a.ctrllimited = mujoco.mjtLimited.mjLIMITED_TRUE
        a.ctrlrange = list(act.ctrl_range)
    if act.force_range is not None:
        a.forcelimited = mujoco.mjtLimited.mjLIMITED_TRUE
        a.forcerange = list(act.force_range)


def _contact_pairs(colliding: list[tuple[Geom, int, bool]]) -> list[tuple[Geom, Geom]]:
    """Geom pairs that may touch: different top-level trees, at least one of them moving."""
    pairs = []
    for i, (g1, t1, m1) in enumerate(colliding):
        for g2, t2, m2 in colliding[i + 1 :]:
            if t1 != t2 and (m1 or m2) and not (g1.type == "plane" and g2.type == "plane"):
                pairs.append((g1, g2))
    return pairs


def _condim(g1: Geom, g2: Geom) -> int:
    if g1.rolling_friction * g2.rolling_friction > 0:
        return 6
    if g1.torsional_friction * g2.torsional_friction > 0:
        return 4
    return 3


def _restitution_solref(e: np.ndarray, timestep_s: float) -> np.ndarray:
    """Per contact pair (rows): MuJoCo's default soft contact for e = 0; else a direct
    spring-damper with the damping ratio of an oscillator whose bounce keeps a fraction e of
    the speed otherwise."""
    bouncy = e > 1e-6
    log_e = np.log(np.clip(e, 1e-6, 0.999))
    zeta = -log_e / np.sqrt(math.pi**2 + log_e**2)
    omega = math.pi / (_BOUNCE_STEPS * timestep_s)
    return np.where(bouncy[:, None], np.stack([np.full_like(e, -(omega**2)), -2 * zeta * omega], axis=1), [0.02, 1.0])


def _finite_scalar(name: str, value: object) -> float:
    try:
        v = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise BackendError(f"{name} must be a number, got {value!r}") from None
    if not math.isfinite(v):
        raise BackendError(f"{name} must be finite, got {v}")
    return v


def _non_negative(name: str, v: float) -> float:
    if v < 0:
        raise BackendError(f"{name} must be >= 0, got {v}")
    return v


class _MujocoRayFan(RayFan):
    """A ray fan that reads the body frame from MjData views made once (``xmat``, ``xpos``:
    the engine writes into the same memory every step), rotates the rays into its buffer and
    places the origin in one call (``native.kernels.pose_rays``, else ``mju_mulMatMatT`` and
    ``mju_mulMatVec3``) and casts with one ``mj_multiRay``."""

    def __init__(self, backend: MujocoBackend, body: str, directions: np.ndarray, origin: Sequence[float], max_range_m: float):
        super().__init__(backend, body, directions, origin, max_range_m)
        bid = backend._body_id(body)
        self._model, self._data = backend.model, backend.data
        self._xmat, self._xpos = self._data.xmat[bid], self._data.xpos[bid]  # (9,) row-major, (3,)
        self._pose_rays = native.kernels.pose_rays if native.kernels is not None else None
        self._rays, self._offset = self._local[: self.n], self._local[self.n].copy()
        self._origin = np.empty(3)  # the world origin of this cast (mj_multiRay reads it during the call only)
        self._flat = self._directions.reshape(-1)  # a view of the buffer, as mj_multiRay reads it
        self._index_of_geom = backend._body_index_of_geom

    def cast(self) -> RayHits:
        backend, n = self.backend, self.n
        m, d = self._model, self._data
        if backend.data is not d:  # compile and close replace both
            raise BackendError("this ray fan's scene was recompiled or closed: make a new one with ray_fan()")
        if self._pose_rays is not None:  # the C twin of the two lines below, in one call
            self._pose_rays(self._rays, self._offset, self._xmat, self._xpos, self._directions, self._origin)
        else:
            mujoco.mju_mulMatMatT(self._directions, self._rays, self._xmat.reshape(3, 3))
            mujoco.mju_mulMatVec3(self._origin, self._xmat, self._offset)
            self._origin += self._xpos
        geom, dist = np.empty(n, np.int32), np.empty(n)
        mujoco.mj_multiRay(m, d, self._origin, self._flat, None, 1, -1, geom, dist, None, n, self.max_range_m)
        return RayHits(dist, self.max_range_m, backend._names, geom, self._index_of_geom)
