"""PyBullet backend: one private DIRECT client per instance, one multibody per top-level body.

How a :class:`~simsuite.scene.Scene` maps onto PyBullet
-------------------------------------------------------
- A top-level body with a free joint is a dynamic base; one with no joint is a static base
  (mass 0); one with a hinge or slide joint becomes link 0 under a hidden, massless, shapeless
  static base at the world origin. Descendants are links (hinge -> revolute, slide -> prismatic,
  none -> fixed); a joint sits at its child body's frame origin with its axis in that frame (URDF).
- Bodies welded to the world (no joint between them and a jointless top-level body) are static:
  mass 0, no mass or inertia parameters, poses cached at compile, and (like static bases) they
  collide with moving bodies only.
- Mass properties come from ``Body.mass_properties`` (the numbers MuJoCo gets). PyBullet reports
  a base's pose and all velocities at the centre of mass; this module converts to the body frame.
- PyBullet keeps one friction and restitution per link, and a contact uses the product of the two
  links' values (the scene's rule). A body takes its *first colliding geom's* friction,
  torsional/rolling friction and restitution; ``<geom>.friction`` on another geom of the same body
  is stored and reported but has no effect here. Torsional and rolling friction do NOT follow the
  product rule here: Bullet combines them as r₁·μ₂ + μ₁·r₂ (each body's rolling coefficient times
  the other's sliding friction), where MuJoCo's contact pairs use r₁·r₂.
- Joint damping (-d·q̇) is Bullet's own per-link ``jointDamping`` (bit-identical to applying
  -d·q̇ as a torque each substep, checked). Position and velocity actuators run in C in
  PyBullet's built-in pdControlPlugin: each substep τ = clamp(kp·(q* − q) + kd·(q̇* − q̇), ±max
  force), MuJoCo's position/velocity actuator law, re-sent only when a control or gain changes.
  Its arguments are float32, so targets, gains and force limits act rounded to 24-bit mantissas
  (relative 6e-8; the same law in Python with those rounded values gives the bit-identical
  trajectory, checked). Torque actuators and actuators that law cannot express (an asymmetric
  force range, two actuators on one joint) are applied as joint torques every substep from
  Python. A free body's drag is computed here every substep: the force -c·m·v of its frame
  origin, acting there, and the torque -c·I·ω (MuJoCo's free-joint dof damping, which the
  MuJoCo backend uses). Damping of other bodies is ignored, as in MuJoCo. PyBullet's own body
  damping, velocity motors and velocity clamp are switched off.
- Geoms with ``collide=False`` are not created (visual only). Planes are infinite and must sit on
  static bodies. ``Joint.armature`` is not supported (a warning says so).
- The state array is [token, time, per movable multibody: base COM pose and velocity, joint
  positions and velocities, then the actuator controls]; see :meth:`PybulletBackend.get_state`.

PyBullet 3.2.7 behaviours worked around here (each reproduced in a scratch experiment)
--------------------------------------------------------------------------------------
1. ``changeDynamics`` silently drops ``localInertiaDiagonal`` for a link when the same call sets
   a multibody-wide value (linearDamping, angularDamping, maxJointVelocity): inertia gets its own call.
2. Multibody damping is one value per multibody (the last one set wins, whichever link it was set
   on) and quadratic, dv/dt = -c·v·(1 + |v|); default 0.04. It is set to 0; body damping is explicit.
3. Joint and base velocities are clamped to 100 (rad/s or m/s) by default (``maxJointVelocity``,
   also per multibody): raised to ``_MAX_VELOCITY``.
4. The broadphase boxes that ``rayTestBatch`` uses lag one step behind the bodies (they are updated
   at the start of ``stepSimulation``), are wrong for a static base's links right after creation,
   and are not updated by ``restoreState`` when the saved state holds no contact manifold, so rays
   miss the leading edge of fast bodies or whole bodies after a reset. ``resetBaseVelocity`` with
   the current velocity refreshes them and changes nothing else (checked bit for bit), so it runs
   lazily before ray casts. ``performCollisionDetection`` would too, but it changes the following
   steps (it refreshes contact manifolds), so it runs only at compile.
5. ``restoreState`` restores contact manifolds only when the saved state holds at least one; the
   initial state is therefore saved after one collision pass, which makes ``reset()`` clear the
   contact caches of the previous episode (bit-identical to a fresh compile).
6. An OBJ file with several objects becomes a compound of per-object convex hulls, while the mass
   model and MuJoCo use one hull of the whole mesh: each mesh geom is written once as its convex
   hull (a one-object OBJ, already scaled) into a temporary folder of this process.
   PyBullet caches loaded meshes by file name for the life of the process (disconnect keeps
   them), so the hull files are named by their content: recompiling reuses the cache entry
   instead of growing it (a fresh name per compile grew RSS by ~50 kB per mesh and compile).
7. Convex hulls keep PyBullet's 1 mm collision margin (rays and contacts meet them 1 mm early);
   margin 0 makes ray casts against hulls miss.
8. ``resetBasePositionAndOrientation`` sets the centre-of-mass frame and zeroes the velocity.
9. ``rayTestBatch`` fails at 16,384 rays or more (silently at exactly 16,384): rays go in chunks.
10. ``getLinkState`` returns the link frame (``worldLinkFramePosition``/``Orientation``) rounded to
    float32 (errors up to ~1e-7 m and rad) but the link's centre-of-mass frame in full precision:
    every body frame, base or link, is computed here from its COM frame and inertial offset.
11. ``rayTestBatch`` distances to spheres, capsules and cylinders are approximate (Bullet's
    subsimplex convex cast: ~1e-4 m typical, over 1 cm at grazing incidence; also up to ~1 mm
    within a few mm of a box edge), and the flag for its exact GJK cast is not exposed. When a ray
    hits a body whose colliding geoms are all boxes, spheres, capsules or cylinders, its distance
    is recomputed analytically in each geom's frame (Bullet still decides which body is hit);
    bodies with a mesh keep Bullet's distance. When every such body has one geom, Bullet's hit
    says the ray enters that geom, and a box's entry is just its farthest near-face plane.
    ``rayTestBatch`` answers with a tuple per ray; its columns are read in one C pass
    (``native.kernels.ray_columns``), else with ``np.fromiter`` per column.
    In a world whose colliding bodies are all multibody bases of one box or one plane (rooms,
    floor plans), a shared-origin cast needs only the uid column: the exact entry into the
    hit geom is computed for every ray from one per-uid table (``_BoxRays``, or its C twin
    ``native.kernels.box_entries``), Bullet's fraction stands only where the exact entry has
    none (a ray starting inside a box), and a miss comes out NaN. Bullet's box distances are
    off by up to 6 mm for about 0.4% of box hits, far from edges too, so the exact step cannot
    be skipped.
12. ``setJointMotorControlArray(..., PD_CONTROL)`` costs 1-3 ms per call (it re-syncs the
    plugin's view of every body), more than the physics of a control step; the plugin's own
    command (``executePluginCommand``: set = 1 or remove = 2, body id, link; floats q*, q̇*, kd,
    kp, max force) costs ~2 µs per joint after one sync per compiled world. Its controllers are
    keyed by (body id, link) and outlive ``resetSimulation`` (a stale one drives whatever body
    gets that id next), so they are removed before a recompile. With ``numSubSteps > 1`` a PD
    joint no longer follows single-step stepping (0.29 rad apart after 1 s in a scratch test),
    so substeps stay one ``stepSimulation`` call each.
"""

from __future__ import annotations

import atexit
import hashlib
import itertools
import math
import shutil
import tempfile
import warnings
from collections import OrderedDict
from dataclasses import dataclass, field
from operator import itemgetter
from pathlib import Path
from typing import Callable, Mapping, Sequence

import numpy as np
import pybullet as pb

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
from simsuite.scene import Body, Geom, Scene, SceneError
from simsuite.transforms import quat_conj, quat_mul, quat_to_mat, wxyz_to_xyzw, xyzw_to_wxyz

# Live in-memory PyBullet states kept for bit-exact set_state. Each is a snapshot of the whole
# world, collision shapes included (measured: ~100 kB + ~5 kB per body + ~65 B per hull vertex;
# 1.8 MB with ten 2,562-vertex hulls), so their number is set by a memory budget.
_SAVED_STATES_RANGE = (8, 256)
_SAVED_STATES_BUDGET_BYTES = 64 << 20
_RAY_CHUNK = 8192  # rays per rayTestBatch call (PyBullet fails at 16,384)
_MAX_VELOCITY = 1e6  # [rad/s or m/s] replaces PyBullet's default clamp of 100
_RUNAWAY_VELOCITY = 1e5  # [rad/s or m/s] beyond this the simulation counts as diverged
_STATIC_GROUP, _STATIC_MASK = 2, -1 ^ 2  # Bullet's StaticFilter group, colliding with all but static
_JOINT_GROUPS_MAX = 256  # cached joint_states lookups
_UNIT_QUAT_TOL = 1e-6
_TOKENS = itertools.count(1)  # state tokens, unique within the process
_HULL_FILES: dict[tuple[str, int, tuple[float, ...]], tuple[str, int]] = {}  # (mesh, mtime, scale) -> (OBJ, vertices)
_UID, _LINK, _FRACTION = itemgetter(0), itemgetter(1), itemgetter(2)  # rayTestBatch result columns
_RAY_SHAPES = {"box": 0, "sphere": 1, "capsule": 2, "cylinder": 3}  # geoms with an analytic ray test
_JOINT_TYPES = {"hinge": pb.JOINT_REVOLUTE, "slide": pb.JOINT_PRISMATIC, None: pb.JOINT_FIXED}
_POSITION, _VELOCITY, _TORQUE, _BRAKE = 0, 1, 2, 3
_PD_SET, _PD_REMOVE = 1, 2  # pdControlPlugin commands
_ACTUATOR_KIND = {"position": _POSITION, "velocity": _VELOCITY, "torque": _TORQUE, "brake": _BRAKE}
_MASS_PARAMS = ("mass_kg", "inertia_scale")
_DAMPING_PARAMS = ("linear_damping", "angular_damping")
_SURFACE_PARAMS = ("friction", "restitution", "torsional_friction", "rolling_friction")


# ---------------------------------------------------------------------------
# Compiled records


@dataclass
class _Surface:
    """A colliding geom's contact coefficients (copied from the scene, changed by set_param)."""

    body: "_BodyRec"
    friction: float
    torsional_friction: float
    rolling_friction: float
    restitution: float


@dataclass
class _BodyRec:
    """Where one scene body lives in PyBullet and how its frame relates to PyBullet's COM frame."""

    name: str
    row: int  # index in body_names
    uid: int
    link: int  # -1: the multibody's base
    static: bool  # welded to the world: never moves
    free_root: bool  # top-level body with a free joint (set_body_pose allowed)
    com_pos: np.ndarray  # inertial frame origin in the body frame [m]
    com_quat: np.ndarray  # inertial frame orientation in the body frame (w, x, y, z)
    mass0_kg: float  # compiled mass (0 when static)
    inertia0: np.ndarray  # compiled principal inertia [kg·m²]
    mass_kg: float = 0.0
    inertia_scale: float = 1.0
    linear_damping: float = 0.0  # [1/s]
    angular_damping: float = 0.0  # [1/s]
    surfaces: list[_Surface] = field(default_factory=list)  # colliding geoms, scene order
    origin_in_com: tuple[float, float, float] = field(init=False)  # body origin seen from the COM, COM axes
    com_is_frame: bool = field(init=False)  # the COM frame is the body frame: PyBullet's pose is the body's

    def __post_init__(self) -> None:
        self.origin_in_com = tuple((-(quat_to_mat(self.com_quat).T @ self.com_pos)).tolist())
        self.com_is_frame = not np.any(self.com_pos) and np.array_equal(self.com_quat, (1.0, 0.0, 0.0, 0.0))

    @property
    def inertia(self) -> list[float]:
        """Principal inertia now: the compiled one times inertia_scale (mass_kg leaves it:
        mass and inertia are separate parameters, so calibration can tell them apart)."""
        scale = self.inertia_scale
        return [float(i) * scale for i in self.inertia0]


@dataclass
class _JointRec:
    name: str
    type: str  # hinge, slide or free
    body: _BodyRec
    index: int  # PyBullet joint index (= link index); -1 for a free joint
    range: tuple[float, float] | None
    damping: float


@dataclass
class _RayAnswer:
    """rayTestBatch's answer, one tuple per ray in chunks of up to ``_RAY_CHUNK``: a column
    is read with a C iterator over the chunks, without joining them first."""

    chunks: list[tuple]
    n: int

    def column(self, field: Callable[[tuple], object], dtype: type) -> np.ndarray:
        rows = self.chunks[0] if len(self.chunks) == 1 else itertools.chain.from_iterable(self.chunks)
        return np.fromiter(map(field, rows), dtype, self.n)

    def read(self, link: bool = False, fraction: bool = False) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
        """The (uid, link, fraction) columns, None for those not asked for: one C pass over
        the tuples with ``native.kernels``, else a C iterator per column."""
        kernels = native.kernels
        if kernels is None:
            return self.column(_UID, np.intp), self.column(_LINK, np.intp) if link else None, self.column(_FRACTION, np.float64) if fraction else None
        out = (np.empty(self.n, np.intp), np.empty(self.n, np.intp) if link else None, np.empty(self.n) if fraction else None)
        kernels.ray_columns(self.chunks, self.n, *out)
        return out


@dataclass
class _BoxRays:
    """Per-cast table of the box-and-plane worlds' exact ray path (see ``_make_box_rays``).

    Column u of ``table`` (15, U + 1) belongs to the body of PyBullet uid u and holds, rows
    0-11, the (3, 4) matrix [A | o] of its geom, row-major: A takes the rays' directions into
    the geom's axes and o is the rays' origin in the geom's frame; rows 12-14 hold its half
    sizes. Column-per-uid, so that a cast gathers each quantity as one contiguous row and
    every per-ray operation runs on contiguous memory. The last column serves uid -1 (a
    miss), and so do uids without a geom: its half sizes are NaN, so a miss's entry distance
    comes out NaN, RayHits' mark of a miss, at no extra cost.
    """

    frames: np.ndarray  # (U + 1, 3, 4) [geom <- world rotation | -(the geom's origin in its own axes)]
    halves: np.ndarray  # (U + 1, 3) half sizes (a plane: inf, inf, 0; NaN: no geom), as table rows 12-14
    table: np.ndarray  # (15, U + 1), rewritten per cast
    table_frames: np.ndarray  # (U + 1, 3, 4): a view of table rows 0-11, the matmul's output
    moving: np.ndarray  # uids of the bodies that move
    moving_bodies: tuple[str, ...]
    is_moving: np.ndarray  # (U + 1,) bool
    geom_pos: np.ndarray  # (U + 1, 3) geom frames in their bodies, for the moving ones' refresh
    geom_quat: np.ndarray  # (U + 1, 4)

    @classmethod
    def build(cls, recs: list[_BodyRec], geoms: list[Geom], static_pos: np.ndarray, static_quat: np.ndarray, n_uids: int) -> "_BoxRays":
        frames = np.zeros((n_uids + 1, 3, 4))
        frames[:, :, :3] = np.eye(3)
        table = np.zeros((15, n_uids + 1))
        table[12:] = np.nan
        geom_pos, geom_quat = np.zeros((n_uids + 1, 3)), np.tile([1.0, 0.0, 0.0, 0.0], (n_uids + 1, 1))
        uids = np.array([rec.uid for rec in recs], dtype=np.intp)
        for rec, geom in zip(recs, geoms):
            table[12:, rec.uid] = geom.size if geom.type == "box" else (math.inf, math.inf, 0.0)
            geom_pos[rec.uid], geom_quat[rec.uid] = geom.pos, geom.quat
        table_frames = table[:12].T.reshape(n_uids + 1, 3, 4)
        assert np.shares_memory(table_frames, table)  # a view, written in place by matmul
        moving = np.array([rec.uid for rec in recs if not rec.static], dtype=np.intp)
        is_moving = np.zeros(n_uids + 1, dtype=bool)
        is_moving[moving] = True
        moving_bodies = tuple(rec.name for rec in recs if not rec.static)
        halves = np.ascontiguousarray(table[12:].T)
        boxes = cls(frames, halves, table, table_frames, moving, moving_bodies, is_moving, geom_pos, geom_quat)
        rows = [rec.row for rec in recs]
        boxes._set_frames(uids, static_pos[rows].reshape(-1, 3), static_quat[rows].reshape(-1, 4))
        return boxes

    def _set_frames(self, uids: np.ndarray, body_pos: np.ndarray, body_quat: np.ndarray) -> None:
        rot, origin = _frames(body_pos, body_quat, self.geom_pos[uids], self.geom_quat[uids])
        axes = rot.transpose(0, 2, 1)
        self.frames[uids, :, :3] = axes
        self.frames[uids, :, 3] = -np.einsum("gij,gj->gi", axes, origin)

    def refresh_moving(self, pos: np.ndarray, quat: np.ndarray) -> None:
        """The moving geoms' frames, from their bodies' poses now."""
        self._set_frames(self.moving, pos, quat)

    def entry_distances(self, uid: np.ndarray, pose: np.ndarray, units_t: np.ndarray) -> np.ndarray:
        """The exact entry distance of each ray into the geom of the body it hit (NaN for a
        miss): the farthest of the box's three near-face planes, as in ``_ray_box_entry``.
        ``pose`` (4, 4) places the rays' frame in the world; ``units_t`` (3, N) holds their
        directions in that frame."""
        np.matmul(self.frames, pose, out=self.table_frames)  # [A | o] of every geom at once
        per_ray = self.table.take(uid, axis=1)  # uid -1 takes the last column
        a_o = per_ray[:12].reshape(3, 4, -1)
        d = np.einsum("ijk,jk->ik", a_o[:, :3], units_t)  # (3, N): the directions in each ray's geom axes
        with np.errstate(divide="ignore", invalid="ignore"):
            t = np.copysign(per_ray[12:], d)
            t += a_o[:, 3]
            t /= d
        entry = np.fmin(t[0], t[1], out=t[0])  # fmin skips the NaN of a zero direction component
        np.fmin(entry, t[2], out=entry)
        return np.negative(entry, out=entry)


@dataclass
class _MultiBody:
    """One top-level tree."""

    uid: int
    movable: bool  # dynamic base or at least one hinge/slide joint
    dynamic_base: bool
    base: _BodyRec | None  # None: hidden static base
    links: list[_BodyRec]  # link index -> body
    dofs: list[int]  # hinge/slide joint indices, state order


@dataclass
class _TorquePlan:
    """The actuator torques one multibody needs from Python each substep (those the C-side PD
    cannot give). Plain Python lists: for a handful of joints they beat numpy's call overhead."""

    uid: int
    joints: list[int]  # PyBullet joint indices, one slot each
    actuators: list[tuple[int, int]]  # (actuator index, slot) for the actuators on this multibody
    stateless: bool = False  # torque motors only: torques are constant within a step()


@dataclass
class _PosePlan:
    """How to read the poses of a list of bodies: PyBullet queries per multibody, the output
    row of each queried body, and the maps from its COM frame to its body frame."""

    queries: list[tuple[int, bool, list[int]]]  # (uid, base moves, moving links)
    rows: np.ndarray  # output row of each queried body, in query order
    quat_map: np.ndarray  # (n, 4, 4): body quaternion (w, x, y, z) = M · COM quaternion (x, y, z, w)
    origin_basis: np.ndarray  # (n, 16, 3): body origin = COM + Σ q_j q_k B[4j + k]
    pos0: np.ndarray  # output template with the static bodies' cached poses
    quat0: np.ndarray
    com_is_frame: bool = False  # every queried body's COM frame is its body frame: no conversion
    all_rows: bool = False  # every output row is queried, in order: no template to fill


@dataclass
class _PdPlan:
    """Position and velocity actuators of one multibody, run by PyBullet's C-side PD controller."""

    uid: int
    joints: list[int]  # PyBullet joint indices
    actuators: list[int]  # actuator index per joint


# ---------------------------------------------------------------------------
# Small math helpers (scalar-first quaternions). np.cross costs ~10x these on tiny arrays.


def _cross(a: Sequence[float], b: Sequence[float]) -> np.ndarray:
    return np.array([a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]])


def _cross_rows(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Row-wise cross products of (N, 3) arrays."""
    ax, ay, az = a.T
    bx, by, bz = b.T
    return np.stack([ay * bz - az * by, az * bx - ax * bz, ax * by - ay * bx], axis=1)


def _quat_mul_batch(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Hamilton products of (N, 4) quaternion arrays."""
    aw, ax, ay, az = a.T
    bw, bx, by, bz = b.T
    return np.stack(
        [
            aw * bw - ax * bx - ay * by - az * bz,
            aw * bx + ax * bw + ay * bz - az * by,
            aw * by - ax * bz + ay * bw + az * bx,
            aw * bz + ax * by - ay * bx + az * bw,
        ],
        axis=1,
    )


def _rotate_batch(q: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Rotate vectors v (N, 3) by quaternions q (N, 4)."""
    w, u = q[:, :1], q[:, 1:]
    t = 2.0 * _cross_rows(u, v)
    return v + w * t + _cross_rows(u, t)


def _frames(body_pos: np.ndarray, body_quat: np.ndarray, geom_pos: np.ndarray, geom_quat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """World rotation matrices (k, 3, 3) and origins (k, 3) of geoms placed at ``geom_pos``,
    ``geom_quat`` in bodies at ``body_pos``, ``body_quat`` (w, x, y, z)."""
    w, x, y, z = _quat_mul_batch(body_quat, geom_quat).T
    rot = np.stack([
        1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y),
        2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x),
        2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y),
    ], axis=1).reshape(-1, 3, 3)
    return rot, body_pos + _rotate_batch(body_quat, geom_pos)


def _right_product_matrix(p: np.ndarray) -> np.ndarray:
    """The 4×4 matrix taking PyBullet's (x, y, z, w) quaternion q to q ⊗ p in (w, x, y, z)."""
    w, x, y, z = p
    times_p = np.array([[w, -x, -y, -z], [x, w, z, -y], [y, -z, w, x], [z, y, -x, w]])  # wxyz q -> q ⊗ p
    return times_p[:, [1, 2, 3, 0]]  # columns reordered to take xyzw


def _rotation_basis(v: np.ndarray) -> np.ndarray:
    """(16, 3) B with R(q)·v = Σ_jk q_j q_k B[4j + k] for a unit (x, y, z, w) quaternion q: the
    rotation of a fixed vector is a quadratic form in q, R(q)v = v(w² − u·u) + 2u(u·v) + 2w(u×v)."""
    basis = np.zeros((4, 4, 3))
    unit = np.eye(4)
    for j in range(4):
        for k in range(4):
            ua, wa, uc, wc = unit[j, :3], unit[j, 3], unit[k, :3], unit[k, 3]
            basis[j, k] = v * (wa * wc - ua @ uc) + ua * (uc @ v) + uc * (ua @ v) + wa * np.cross(uc, v) + wc * np.cross(ua, v)
    return basis.reshape(16, 3)


def _drag(rec: "_BodyRec", orn: Sequence[float], v: Sequence[float], w: Sequence[float]) -> tuple[list[float], list[float], list[float]]:
    """A free body's damping: the force -c·m·v of its frame origin, the COM-to-origin offset
    where it acts, and the torque -c·I·ω, all in world axes. ``orn`` is PyBullet's (x, y, z, w)
    COM orientation. Unrolled floats: numpy's per-call cost dominates at this size."""
    x, y, z, s = orn
    r00, r01, r02 = 1 - 2 * (y * y + z * z), 2 * (x * y - s * z), 2 * (x * z + s * y)
    r10, r11, r12 = 2 * (x * y + s * z), 1 - 2 * (x * x + z * z), 2 * (y * z - s * x)
    r20, r21, r22 = 2 * (x * z - s * y), 2 * (y * z + s * x), 1 - 2 * (x * x + y * y)
    ox, oy, oz = rec.origin_in_com
    rx, ry, rz = r00 * ox + r01 * oy + r02 * oz, r10 * ox + r11 * oy + r12 * oz, r20 * ox + r21 * oy + r22 * oz
    wx, wy, wz = w
    c_m = -rec.linear_damping * rec.mass_kg
    force = [c_m * (v[0] + wy * rz - wz * ry), c_m * (v[1] + wz * rx - wx * rz), c_m * (v[2] + wx * ry - wy * rx)]
    ix, iy, iz = rec.inertia
    c = -rec.angular_damping
    lx = c * ix * (r00 * wx + r10 * wy + r20 * wz)  # -c·I·ω in the COM frame
    ly = c * iy * (r01 * wx + r11 * wy + r21 * wz)
    lz = c * iz * (r02 * wx + r12 * wy + r22 * wz)
    torque = [r00 * lx + r01 * ly + r02 * lz, r10 * lx + r11 * ly + r12 * lz, r20 * lx + r21 * ly + r22 * lz]
    return force, [rx, ry, rz], torque


def _actuator_force(spec: tuple[int, float, float, float, float, float], ctrl: float, gain: float, q: float, qd: float) -> float:
    """u of scene.Actuator for one actuator, times its gain, clipped to its force range."""
    kind, kp, kv, gear, lo, hi = spec
    if kind == _POSITION:
        u = kp * (ctrl - q) - kv * qd
    elif kind == _VELOCITY:
        u = kv * (ctrl - qd)
    else:
        u = gear * ctrl
    return min(max(gain * u, lo), hi)


# ---------------------------------------------------------------------------
# Exact ray distances to primitives (quirk 11). Rays are in the geom frame, directions unit
# length; each function returns the entry distance, inf where the ray misses or starts inside.


def _ray_sphere(o: np.ndarray, d: np.ndarray, radius: np.ndarray, centre_z: np.ndarray) -> np.ndarray:
    rel = o - np.stack([np.zeros_like(centre_z), np.zeros_like(centre_z), centre_z], axis=1)
    b = np.einsum("ij,ij->i", rel, d)
    c = np.einsum("ij,ij->i", rel, rel) - radius * radius
    disc = b * b - c
    t = -b - np.sqrt(np.maximum(disc, 0.0))
    return np.where((disc >= 0) & (c > 0) & (t >= 0), t, np.inf)


def _ray_box(o: np.ndarray, d: np.ndarray, half: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        t1, t2 = (-half - o) / d, (half - o) / d
    near = np.where(np.isnan(t1) | np.isnan(t2), -np.inf, np.fmin(t1, t2)).max(axis=1)
    far = np.where(np.isnan(t1) | np.isnan(t2), np.inf, np.fmax(t1, t2)).min(axis=1)
    return np.where((near <= far) & (near >= 0), near, np.inf)


def _ray_tube(o: np.ndarray, d: np.ndarray, radius: np.ndarray, half: np.ndarray) -> np.ndarray:
    """The side of a z-axis cylinder of the given radius between z = -half and +half."""
    a = d[:, 0] ** 2 + d[:, 1] ** 2
    b = o[:, 0] * d[:, 0] + o[:, 1] * d[:, 1]
    c = o[:, 0] ** 2 + o[:, 1] ** 2 - radius * radius
    disc = b * b - a * c
    with np.errstate(divide="ignore", invalid="ignore"):  # rays along the axis: a = 0
        t = (-b - np.sqrt(np.maximum(disc, 0.0))) / a
        ok = (a > 0) & (disc >= 0) & (c > 0) & (t >= 0) & (np.abs(o[:, 2] + t * d[:, 2]) <= half)
    return np.where(ok, t, np.inf)


def _ray_caps(o: np.ndarray, d: np.ndarray, radius: np.ndarray, half: np.ndarray) -> np.ndarray:
    """The flat end discs of a z-axis cylinder, entered from outside."""
    best = np.full(len(o), np.inf)
    for side in (1.0, -1.0):
        with np.errstate(divide="ignore", invalid="ignore"):  # rays parallel to the caps: dz = 0
            t = (side * half - o[:, 2]) / d[:, 2]
            x, y = o[:, 0] + t * d[:, 0], o[:, 1] + t * d[:, 1]
            ok = (side * o[:, 2] > half) & (t >= 0) & (x * x + y * y <= radius * radius)
        best = np.minimum(best, np.where(ok, t, np.inf))
    return best


def _ray_box_entry(o: np.ndarray, d: np.ndarray, half: np.ndarray) -> np.ndarray:
    """Entry distance into a box that each ray is known to hit (Bullet's box, rounded by its
    margin, lies inside the exact one): the farthest of the three near-face planes, each at
    -sign(d)·half. A zero direction component gives -inf (or NaN on the face): no constraint.
    Half the work of the general slab test. Where Bullet's tolerance reports a grazing hit
    that the exact box misses by a hair (1 in 25,000 random rays in a box scene), this gives
    the nearest face plane's crossing, within 0.2 mm of Bullet's own distance."""
    with np.errstate(divide="ignore", invalid="ignore"):
        t = np.copysign(half, d)
        t += o
        t /= d
    # -max of the near-plane distances, column by column (numpy reduces a short axis slowly);
    # fmin skips NaN
    t = np.fmin(np.fmin(t[:, 0], t[:, 1]), t[:, 2])
    np.negative(t, out=t)
    return t if t.min() >= 0 else np.where(t >= 0, t, np.inf)  # < 0: the ray starts inside


def _ray_primitive(kind: int, o: np.ndarray, d: np.ndarray, size: np.ndarray, known_hit: bool = False) -> np.ndarray:
    """Entry distance of rays into one kind of primitive (sizes as in scene.Geom);
    ``known_hit``: each ray is known to hit its primitive."""
    if kind == _RAY_SHAPES["box"]:
        return _ray_box_entry(o, d, size) if known_hit else _ray_box(o, d, size)
    radius, half = size[:, 0], size[:, 1]
    if kind == _RAY_SHAPES["sphere"]:
        return _ray_sphere(o, d, radius, np.zeros_like(radius))
    if kind == _RAY_SHAPES["capsule"]:
        ends = np.minimum(_ray_sphere(o, d, radius, half), _ray_sphere(o, d, radius, -half))
        return np.minimum(_ray_tube(o, d, radius, half), ends)
    return np.minimum(_ray_tube(o, d, radius, half), _ray_caps(o, d, radius, half))


def _floats3(value: Sequence[float], what: str) -> list[float]:
    """Three finite floats as a list (the per-step path: no numpy), or a BackendError naming ``what``."""
    try:
        x, y, z = map(float, value)
    except (TypeError, ValueError) as exc:
        raise BackendError(f"{what} must be 3 numbers, got {value!r}") from exc
    if not (math.isfinite(x) and math.isfinite(y) and math.isfinite(z)):
        raise BackendError(f"{what} must be 3 finite numbers, got {value!r}")
    return [x, y, z]


def _vector(value: Sequence[float], size: int, what: str) -> np.ndarray:
    """A finite float64 vector of ``size`` entries, or a BackendError naming ``what``."""
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise BackendError(f"{what} must be {size} numbers, got {value!r}") from exc
    # a finite dot product means every entry is finite (only huge finite ones overflow it)
    if arr.shape != (size,) or not math.isfinite(arr @ arr) and not np.isfinite(arr).all():
        raise BackendError(f"{what} must be {size} finite numbers, got {value!r}")
    return arr


def _scalar(value: object, what: str) -> float:
    """A finite float, or a BackendError naming ``what``."""
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError) as exc:
        raise BackendError(f"{what} must be a number, got {value!r}") from exc
    if not math.isfinite(number):
        raise BackendError(f"{what} must be finite, got {value!r}")
    return number


def _unit_quat(value: Sequence[float], what: str) -> np.ndarray:
    q = _vector(value, 4, what)
    norm = np.linalg.norm(q)
    if norm < 1e-9:
        raise BackendError(f"{what} must be a non-zero quaternion (w, x, y, z), got {value!r}")
    return q / norm


def _hull_file(path: Path, scale: Sequence[float]) -> tuple[str, int]:
    """The mesh's scaled convex hull as a one-object OBJ named by its content (quirk 6), and
    its number of vertices."""
    from simsuite.meshes import load_mesh

    resolved = path.resolve()
    key = (str(resolved), resolved.stat().st_mtime_ns, tuple(float(v) for v in scale))
    if key not in _HULL_FILES:
        hull = load_mesh(resolved, scale).convex_hull
        lines = [f"v {x:.17g} {y:.17g} {z:.17g}" for x, y, z in np.asarray(hull.vertices, dtype=np.float64)]
        lines += [f"f {a + 1} {b + 1} {c + 1}" for a, b, c in np.asarray(hull.faces)]
        text = "o hull\n" + "\n".join(lines) + "\n"
        out = _hull_dir() / f"hull_{hashlib.sha1(text.encode()).hexdigest()}.obj"
        if not out.exists():
            out.write_text(text)
        _HULL_FILES[key] = (str(out), len(hull.vertices))
    return _HULL_FILES[key]


def _hull_dir() -> Path:
    """This process's folder of hull files, removed when the process exits."""
    global _HULL_DIR
    if _HULL_DIR is None:
        _HULL_DIR = Path(tempfile.mkdtemp(prefix="simsuite_pybullet_hulls_"))
        atexit.register(shutil.rmtree, _HULL_DIR, ignore_errors=True)
    return _HULL_DIR


_HULL_DIR: Path | None = None


# ---------------------------------------------------------------------------


class PybulletBackend(Backend):
    """A compiled scene on its own PyBullet DIRECT client."""

    name = "pybullet"

    def __init__(self) -> None:
        super().__init__()
        self._cid: int | None = None
        self._closed = False

    @property
    def client_id(self) -> int:
        """This instance's private PyBullet client, for benchmarks' raw engine loops."""
        if self._cid is None:
            raise BackendError("the PyBullet backend has no compiled scene (call compile() first, or it was closed)")
        return self._cid

    # -- lifecycle ---------------------------------------------------------
    def compile(self, scene: Scene) -> None:
        """Build one multibody per top-level body. Raises SceneError for a malformed scene."""
        scene.validate()
        self._closed = False
        self.scene = scene
        if self._cid is not None:  # recompiling: empty this client (~2 ms) rather than reconnect (~30 ms)
            for state_id, _ in getattr(self, "_saved", {}).values():
                pb.removeState(state_id, physicsClientId=self._cid)
            pb.removeState(self._initial_state, physicsClientId=self._cid)
            self._disable_pd()  # the plugin outlives resetSimulation (quirk 12)
            pb.resetSimulation(physicsClientId=self._cid)
        else:
            self._cid = pb.connect(pb.DIRECT)
            if self._cid < 0:
                raise BackendError("PyBullet could not open a DIRECT client (too many open clients?)")
            self._pd_plugin = pb.loadPlugin("pdControlPlugin", physicsClientId=self._cid)  # built in
            if self._pd_plugin < 0:
                raise BackendError("PyBullet's built-in pdControlPlugin did not load")
        try:
            self._build(scene)
        except BaseException:
            self._disconnect()
            raise

    def _build(self, scene: Scene) -> None:
        cid = self._cid
        self._dt = float(scene.timestep_s)
        self._gravity = np.array(scene.gravity, dtype=np.float64)
        pb.setGravity(*self._gravity, physicsClientId=cid)
        pb.setPhysicsEngineParameter(
            fixedTimeStep=self._dt, numSubSteps=0, deterministicOverlappingPairs=1, physicsClientId=cid
        )
        mesh_dir = Path(scene.mesh_dir) if scene.mesh_dir is not None else None
        self._hull_vertices = 0
        self._bodies: list[_BodyRec] = []
        self._body_by_name: dict[str, _BodyRec] = {}
        self._joints: dict[str, _JointRec] = {}
        self._sites: dict[str, tuple[_BodyRec, np.ndarray, np.ndarray]] = {}
        self._surfaces: dict[str, _Surface] = {}
        self._multibodies: list[_MultiBody] = []
        for root in scene.bodies:
            self._multibodies.append(self._build_tree(root, scene, mesh_dir))
        self._names = tuple(rec.name for rec in self._bodies)
        self._build_actuators(scene)
        self._ray_table = self._make_ray_table()
        self._cache_static_poses()
        self._make_ray_geoms(scene)
        self._make_box_rays(scene)
        self._param_names = self._list_params()
        self._param_set = set(self._param_names)
        self._warn_unsupported(scene)
        self._rebuild_step_plans()
        self._state_size = 2 + sum(13 + 2 * len(mb.dofs) for mb in self._movable) + len(self._act_names)
        self._saved: OrderedDict[float, tuple[int, np.ndarray]] = OrderedDict()
        state_bytes = 100_000 + 5_000 * len(self._bodies) + 80 * self._hull_vertices  # see _SAVED_STATES_BUDGET_BYTES
        low, high = _SAVED_STATES_RANGE
        self._saved_max = min(high, max(low, _SAVED_STATES_BUDGET_BYTES // state_bytes))
        self._joint_groups: dict[tuple[str, ...], list[tuple[_MultiBody, list[int], np.ndarray]]] = {}
        self._time_s = 0.0
        self._diverged = False
        # held external wrenches per (uid, link): (body, world force at the COM, world torque)
        self._pending: dict[tuple[int, int], tuple[_BodyRec, list[float], list[float]]] = {}
        self._held = None  # see hold_commands
        pb.executePluginCommand(self._pd_plugin, "", [], [], physicsClientId=cid)  # the plugin learns the bodies
        # One collision pass, so the initial state holds contact manifolds (quirks 4 and 5).
        pb.performCollisionDetection(physicsClientId=cid)
        self._initial_state = pb.saveState(physicsClientId=cid)
        self._aabbs_stale = False
        self._reads: dict[int, tuple] = {}  # engine reads of the current state (see _dof_states)

    def reset(self) -> None:
        self._require_compiled()
        pb.restoreState(self._initial_state, physicsClientId=self._cid)
        self._time_s = 0.0
        self._ctrl[:] = 0.0
        self._resend_commands()
        self._pending.clear()
        self._held = None
        self._state_changed()
        self._diverged = False

    def step(self, n_substeps: int = 1, *, keep_forces: bool = False) -> None:
        if self._cid is None:  # _require_compiled() without its call: this runs every step
            self._require_compiled()
        if isinstance(n_substeps, bool) or not isinstance(n_substeps, (int, np.integer)) or n_substeps < 1:
            raise BackendError(f"n_substeps must be a positive integer, got {n_substeps!r}")
        if self._held is not None:
            n_substeps = self._step_held(n_substeps)
            if not n_substeps:
                return
        cid, dt, t = self._cid, self._dt, self._time_s
        step_simulation = pb.stepSimulation
        if self._pd_dirty:
            self._send_pd()
        if self._lean and not self._pending:
            for _ in range(n_substeps):
                step_simulation(physicsClientId=cid)
                t += dt  # one addition per substep, as MuJoCo advances its time
        else:
            torques = bool(self._torque_plans)
            if torques:
                ctrl, gain = self._ctrl.tolist(), self._gain.tolist()
                constant = {id(p): self._plan_torques(p, ctrl, gain, None) for p in self._torque_plans if p.stateless}
            held = list(self._pending.values())
            wrenches = bool(held or self._drag_bodies)
            for _ in range(n_substeps):
                if torques:
                    self._apply_joint_torques(ctrl, gain, constant)
                if wrenches:
                    self._apply_body_wrenches(held)
                step_simulation(physicsClientId=cid)
                t += dt
        self._time_s = t
        if not keep_forces and self._held is None:  # (held forces have not acted yet)
            self._pending.clear()
        self._state_changed()

    def hold_commands(self, substeps: int) -> None:
        self._require_compiled()
        if isinstance(substeps, bool) or not isinstance(substeps, (int, np.integer)) or substeps < 1:
            raise BackendError(f"hold_commands needs a positive integer of substeps, got {substeps!r}")
        self._held = (int(substeps), self._ctrl.copy() if len(self._ctrl) else None, self._pending)
        self._pending = {}  # forces given from now on start from none

    def _step_held(self, n_substeps: int) -> int:
        """Run up to the held substeps on the held-back controls and forces, then put the ones
        given since back in force; returns the substeps left for them."""
        left, ctrl, pending = self._held
        k = min(n_substeps, left)
        self._held, new_pending, self._pending = None, self._pending, pending
        changed = ctrl is not None and bool((ctrl != self._ctrl).any())
        if changed:  # (the PD targets are re-sent from the controls: both ways)
            new_ctrl = self._ctrl.copy()
            self._ctrl[:] = ctrl
            self._pd_dirty = True
        self.step(k, keep_forces=True)
        self._pending = new_pending
        if changed:
            self._ctrl[:] = new_ctrl
            self._pd_dirty = True
        if k < left:  # the caller steps in chunks (sensors): the hold goes on into the next call
            self._held = (left - k, ctrl, pending)
        return n_substeps - k

    def close(self) -> None:
        self._disconnect()
        self._closed = True

    def __del__(self) -> None:
        try:
            self._disconnect()
        except Exception:  # interpreter shutdown: pybullet may already be gone
            pass

    def _disconnect(self) -> None:
        cid, self._cid = getattr(self, "_cid", None), None
        if cid is not None and pb.getConnectionInfo(physicsClientId=cid)["isConnected"]:
            pb.disconnect(physicsClientId=cid)

    def _require_compiled(self) -> None:
        if self._cid is None:
            state = "closed" if self._closed else "not compiled"
            raise BackendError(f"the pybullet backend is {state}; call compile(scene) first")

    @property
    def time_s(self) -> float:
        self._require_compiled()
        return self._time_s

    @property
    def diverged(self) -> bool:
        """Checked when asked (not every substep, to keep step() lean) and sticky until reset:
        a NaN or a speed beyond _RUNAWAY_VELOCITY in any base or joint velocity."""
        if self._cid is None:  # _require_compiled() without its call: this runs every step
            self._require_compiled()
        if not self._diverged:
            # chained comparisons, which NaN fails: right after a step, building a list of the
            # speeds for map() and all() costs more than the engine's reads of them
            top, ok = _RUNAWAY_VELOCITY, True
            for mb in self._movable:
                if mb.dynamic_base:
                    (vx, vy, vz), (wx, wy, wz) = self._base_velocity(mb.uid)
                    ok = ok and -top <= vx <= top and -top <= vy <= top and -top <= vz <= top
                    ok = ok and -top <= wx <= top and -top <= wy <= top and -top <= wz <= top
                if mb.dofs:
                    for state in self._dof_states(mb):
                        ok = ok and -top <= state[1] <= top
            self._diverged = not ok
        return self._diverged

    # -- building ------------------------------------------------------------
    def _build_tree(self, root: Body, scene: Scene, mesh_dir: Path | None) -> _MultiBody:
        """Create one top-level body and its descendants as one multibody."""
        cid = self._cid
        order = [body for body in root.walk()]  # depth first, parents before children
        parent_of = {id(child): body for body in order for child in body.children}
        static = self._static_flags(root, order, parent_of)
        hidden_base = root.joint is not None and root.joint.type != "free"
        link_bodies = order if hidden_base else order[1:]
        link_number = {id(body): i for i, body in enumerate(link_bodies)}

        def parent_index(body: Body) -> int:  # PyBullet's 1-based parent: 0 is the base
            parent = parent_of.get(id(body))
            return 0 if parent is None or (parent is root and not hidden_base) else link_number[id(parent)] + 1

        parts = {id(body): self._body_part(body, static[id(body)], scene, mesh_dir) for body in order}
        base = parts[id(root)] if not hidden_base else None
        links = [parts[id(body)] for body in link_bodies]
        uid = pb.createMultiBody(
            baseMass=base["mass"] if base else 0.0,
            baseCollisionShapeIndex=base["shape"] if base else -1,
            baseVisualShapeIndex=-1,
            basePosition=root.pos if base else (0.0, 0.0, 0.0),
            baseOrientation=wxyz_to_xyzw(root.quat) if base else (0.0, 0.0, 0.0, 1.0),
            baseInertialFramePosition=base["com_pos"] if base else (0.0, 0.0, 0.0),
            baseInertialFrameOrientation=wxyz_to_xyzw(base["com_quat"]) if base else (0.0, 0.0, 0.0, 1.0),
            linkMasses=[part["mass"] for part in links],
            linkCollisionShapeIndices=[part["shape"] for part in links],
            linkVisualShapeIndices=[-1] * len(links),
            linkPositions=[body.pos for body in link_bodies],
            linkOrientations=[wxyz_to_xyzw(body.quat) for body in link_bodies],
            linkInertialFramePositions=[part["com_pos"] for part in links],
            linkInertialFrameOrientations=[wxyz_to_xyzw(part["com_quat"]) for part in links],
            linkParentIndices=[parent_index(body) for body in link_bodies],
            linkJointTypes=[_JOINT_TYPES[body.joint.type if body.joint else None] for body in link_bodies],
            linkJointAxis=[self._joint_axis(body) for body in link_bodies],
            physicsClientId=cid,
        )
        if uid < 0:
            raise BackendError(f"PyBullet could not create top-level body {root.name!r}")
        # Multibody-wide settings, each in a call of its own (quirks 1-3).
        pb.changeDynamics(uid, -1, linearDamping=0.0, angularDamping=0.0, physicsClientId=cid)
        pb.changeDynamics(uid, -1, maxJointVelocity=_MAX_VELOCITY, physicsClientId=cid)

        base_rec = self._register_body(root, uid, -1, static[id(root)], parts[id(root)]) if base else None
        link_recs = []
        for index, body in enumerate(link_bodies):
            link_recs.append(self._register_body(body, uid, index, static[id(body)], parts[id(body)]))
        dofs = self._setup_joints(uid, link_bodies, link_recs)
        if root.is_free:
            assert base_rec is not None and root.joint is not None
            self._joints[root.joint.name] = _JointRec(root.joint.name, "free", base_rec, -1, None, 0.0)
        return _MultiBody(
            uid=uid,
            movable=root.is_free or bool(dofs),
            dynamic_base=root.is_free,
            base=base_rec,
            links=link_recs,
            dofs=dofs,
        )

    @staticmethod
    def _static_flags(root: Body, order: list[Body], parent_of: dict[int, Body]) -> dict[int, bool]:
        """A body is static when no joint separates it from a jointless top-level body."""
        static: dict[int, bool] = {}
        for body in order:
            parent = parent_of.get(id(body))
            above = True if parent is None else static[id(parent)]
            static[id(body)] = above and body.joint is None
        return static

    def _body_part(self, body: Body, static: bool, scene: Scene, mesh_dir: Path | None) -> dict:
        """Mass, inertial frame and collision shape of one body, as createMultiBody wants them."""
        shape = self._collision_shape(body, static, scene)
        if static:
            return {"mass": 0.0, "inertia": np.zeros(3), "com_pos": (0.0, 0.0, 0.0), "com_quat": (1.0, 0.0, 0.0, 0.0), "shape": shape}
        try:
            inertial = body.mass_properties(mesh_dir)
        except (SceneError, ValueError) as exc:
            raise SceneError(f"body {body.name!r}: {exc}") from exc
        return {
            "mass": float(inertial.mass_kg),
            "inertia": np.array(inertial.diag_inertia, dtype=np.float64),
            "com_pos": tuple(float(v) for v in inertial.pos),
            "com_quat": tuple(float(v) for v in inertial.quat),
            "shape": shape,
        }

    @staticmethod
    def _joint_axis(body: Body) -> tuple[float, float, float]:
        if body.joint is None or body.joint.type == "free":
            return (0.0, 0.0, 1.0)
        axis = np.asarray(body.joint.axis, dtype=np.float64)
        return tuple(float(v) for v in axis / np.linalg.norm(axis))  # type: ignore[return-value]

    def _collision_shape(self, body: Body, static: bool, scene: Scene) -> int:
        """One PyBullet shape (a compound when several) for the body's colliding geoms, or -1."""
        geoms = [geom for geom in body.geoms if geom.collide]
        if not geoms:
            return -1
        args: dict[str, list] = {
            "shapeTypes": [],
            "radii": [],
            "halfExtents": [],
            "lengths": [],
            "fileNames": [],
            "meshScales": [],
            "planeNormals": [],
            "collisionFramePositions": [],
            "collisionFrameOrientations": [],
        }
        for geom in geoms:
            if geom.type == "plane" and not static:
                raise BackendError(f"geom {geom.name!r}: a plane must be on a static body, not on moving body {body.name!r}")
            shape_type, radius, half_extents, length, file_name = self._shape_args(geom, scene)
            args["shapeTypes"].append(shape_type)
            args["radii"].append(radius)
            args["halfExtents"].append(half_extents)
            args["lengths"].append(length)
            args["fileNames"].append(file_name)
            args["meshScales"].append((1.0, 1.0, 1.0))  # hull files are written already scaled
            args["planeNormals"].append((0.0, 0.0, 1.0))
            args["collisionFramePositions"].append(geom.pos)
            args["collisionFrameOrientations"].append(wxyz_to_xyzw(geom.quat))
        shape = pb.createCollisionShapeArray(physicsClientId=self._cid, **args)
        if shape < 0:
            raise BackendError(f"PyBullet could not create the collision shape of body {body.name!r}")
        return shape

    def _shape_args(self, geom: Geom, scene: Scene) -> tuple[int, float, tuple, float, str]:
        """(type, radius, half extents, length, file) of one geom; unused entries are zero."""
        zero3 = (0.0, 0.0, 0.0)
        size = tuple(float(s) for s in geom.size)
        if geom.type == "plane":
            return pb.GEOM_PLANE, 0.0, zero3, 0.0, ""
        if geom.type == "box":
            return pb.GEOM_BOX, 0.0, size, 0.0, ""
        if geom.type == "sphere":
            return pb.GEOM_SPHERE, size[0], zero3, 0.0, ""
        if geom.type == "capsule":
            return pb.GEOM_CAPSULE, size[0], zero3, 2.0 * size[1], ""
        if geom.type == "cylinder":
            return pb.GEOM_CYLINDER, size[0], zero3, 2.0 * size[1], ""
        try:
            file_name, n_vertices = _hull_file(scene.resolve_mesh(geom.mesh or ""), geom.mesh_scale)
        except (OSError, ValueError) as exc:
            raise BackendError(f"geom {geom.name!r}: {exc}") from exc
        self._hull_vertices += n_vertices
        return pb.GEOM_MESH, 0.0, zero3, 0.0, file_name

    def _register_body(self, body: Body, uid: int, link: int, static: bool, part: dict) -> _BodyRec:
        """Record a created body and give PyBullet its inertia and surface values."""
        rec = _BodyRec(
            name=body.name,
            row=len(self._bodies),
            uid=uid,
            link=link,
            static=static,
            free_root=body.is_free,
            com_pos=np.array(part["com_pos"], dtype=np.float64),
            com_quat=np.array(part["com_quat"], dtype=np.float64),
            mass0_kg=part["mass"],
            inertia0=part["inertia"],
            mass_kg=part["mass"],
            linear_damping=float(body.linear_damping) if body.is_free else 0.0,
            angular_damping=float(body.angular_damping) if body.is_free else 0.0,
        )
        for geom in body.geoms:
            if geom.collide:
                surface = _Surface(rec, geom.friction, geom.torsional_friction, geom.rolling_friction, geom.restitution)
                rec.surfaces.append(surface)
                self._surfaces[geom.name] = surface
        for site in body.sites:
            self._sites[site.name] = (rec, np.array(site.pos, dtype=np.float64), np.array(site.quat, dtype=np.float64))
        self._bodies.append(rec)
        self._body_by_name[rec.name] = rec
        if not static:
            self._apply_mass(rec)
        elif link >= 0 and rec.surfaces:  # a welded link: collide like a static base does
            pb.setCollisionFilterGroupMask(uid, link, _STATIC_GROUP, _STATIC_MASK, physicsClientId=self._cid)
        if rec.surfaces:
            self._apply_surface(rec)
        return rec

    def _setup_joints(self, uid: int, link_bodies: list[Body], link_recs: list[_BodyRec]) -> list[int]:
        """Limits, initial positions, and PyBullet's velocity motors off; returns the dof indices."""
        cid = self._cid
        dofs = []
        for index, (body, rec) in enumerate(zip(link_bodies, link_recs)):
            joint = body.joint
            if joint is None:
                continue
            dofs.append(index)
            self._joints[joint.name] = _JointRec(joint.name, joint.type, rec, index, joint.range, float(joint.damping))
            if joint.range is not None:
                lower, upper = (float(v) for v in joint.range)
                pb.changeDynamics(uid, index, jointLowerLimit=lower, jointUpperLimit=upper, physicsClientId=cid)
            pb.changeDynamics(uid, index, jointDamping=float(joint.damping), physicsClientId=cid)
            pb.resetJointState(uid, index, float(joint.initial), 0.0, physicsClientId=cid)
        if dofs:
            pb.setJointMotorControlArray(uid, dofs, pb.VELOCITY_CONTROL, forces=[0.0] * len(dofs), physicsClientId=cid)
        return dofs

    def _build_actuators(self, scene: Scene) -> None:
        """Per actuator: (kind, kp, kv, gear, force range) for the substep loop, and its ctrl range."""
        acts = scene.actuators
        for act in acts:
            if self._joints[act.joint].type == "free":
                raise BackendError(f"actuator {act.name!r}: joint {act.joint!r} is free; actuate a hinge or slide joint")
        self._act_names = [act.name for act in acts]
        self._act_index = {name: i for i, name in enumerate(self._act_names)}
        self._act_joint = [self._joints[act.joint] for act in acts]
        inf = math.inf
        self._act_spec = [
            (_ACTUATOR_KIND[act.kind], float(act.kp), float(act.kv), float(act.gear), *map(float, act.force_range or (-inf, inf)))
            for act in acts
        ]
        self._ctrl_range = [tuple(map(float, act.ctrl_range or (-inf, inf))) for act in acts]
        self._control_plans: dict[tuple[str, ...], tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
        self._gain = np.ones(len(acts))
        self._ctrl = np.zeros(len(acts))

    def _make_ray_table(self) -> np.ndarray:
        """table[uid, link + 1] -> row in body_names (-1: no scene body, e.g. a hidden base)."""
        n_uids = max((mb.uid for mb in self._multibodies), default=-1) + 1
        n_links = max((len(mb.links) for mb in self._multibodies), default=0)
        table = np.full((max(n_uids, 1), n_links + 1), -1, dtype=np.int32)
        for rec in self._bodies:
            table[rec.uid, rec.link + 1] = rec.row
        # the same shifted by one row and flattened, for cast_rays: row 0 answers uid -1 (a miss)
        self._ray_table_width = table.shape[1]
        self._ray_table_flat = np.vstack([np.full((1, table.shape[1]), -1, dtype=np.int32), table]).ravel()
        self._ray_table_base = np.append(table[:, 0], -1).astype(np.int32)  # uid -> row of its base; uid -1 -> -1
        return table

    def _make_ray_geoms(self, scene: Scene) -> None:
        """The analytic shapes of bodies made only of primitives, for exact ray distances (quirk
        11): a geom table, and per body row the slice of it that holds the body's geoms."""
        n = len(self._bodies)
        self._ray_geom_start = np.zeros(n, dtype=np.intp)
        self._ray_geom_count = np.zeros(n, dtype=np.intp)
        kinds, rows, positions, quats, sizes = [], [], [], [], []
        for body, _, _ in scene.walk():
            geoms = [geom for geom in body.geoms if geom.collide]
            if not geoms or any(geom.type not in _RAY_SHAPES for geom in geoms):
                continue
            row = self._body_by_name[body.name].row
            self._ray_geom_start[row], self._ray_geom_count[row] = len(kinds), len(geoms)
            for geom in geoms:
                kinds.append(_RAY_SHAPES[geom.type])
                rows.append(row)
                positions.append(geom.pos)
                quats.append(geom.quat)
                sizes.append(tuple(geom.size) + (0.0,) * (3 - len(geom.size)))
        self._ray_geom_kind = np.array(kinds, dtype=np.intp)
        self._ray_geom_row = np.array(rows, dtype=np.intp)
        self._ray_geom_pos = np.array(positions, dtype=np.float64).reshape(-1, 3)
        self._ray_geom_quat = np.array(quats, dtype=np.float64).reshape(-1, 4)
        self._ray_geom_size = np.array(sizes, dtype=np.float64).reshape(-1, 3)
        # per body row (plus a last entry for index -1, a miss): how many analytic geoms it has
        self._ray_geom_count_of_index = np.append(self._ray_geom_count, 0)
        self._ray_single_geom = bool(np.all(self._ray_geom_count[self._ray_geom_count > 0] == 1))
        # per body row (plus index -1): its one analytic geom, or -1 (none, or several)
        self._ray_geom_of_index = np.append(np.where(self._ray_geom_count == 1, self._ray_geom_start, -1), -1)
        self._ray_kinds = sorted(set(kinds))
        # world frames of the geoms (rotation world <- geom, origin): static ones are fixed, so
        # they are computed here once; moving ones are refreshed from their bodies per cast
        moving = [g for g, row in enumerate(rows) if not self._bodies[row].static]
        self._ray_moving_geoms = np.array(moving, dtype=np.intp)
        self._ray_moving_bodies = tuple(self._bodies[rows[g]].name for g in moving)
        self._ray_geom_rot, self._ray_geom_origin = self._geom_frames(self._static_pos[rows].reshape(-1, 3), self._static_quat[rows].reshape(-1, 4), np.arange(len(rows)))
        # the same as one (3G, 3) matrix whose rows are the geoms' axes in world coordinates
        # (geom <- world), and each origin seen in its own geom's axes: a shared ray origin goes
        # into every static geom's frame with one small product
        self._ray_geom_axes = np.ascontiguousarray(self._ray_geom_rot.transpose(0, 2, 1)).reshape(-1, 3)
        self._ray_geom_origin_local = np.einsum("gij,gj->gi", self._ray_geom_axes.reshape(-1, 3, 3), self._ray_geom_origin).reshape(-1)

    def _geom_frames(self, body_pos: np.ndarray, body_quat: np.ndarray, geoms: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """World rotation matrices (k, 3, 3) and origins (k, 3) of ``geoms``, given their bodies' poses."""
        return _frames(body_pos, body_quat, self._ray_geom_pos[geoms], self._ray_geom_quat[geoms])

    def _make_box_rays(self, scene: Scene) -> None:
        """The short exact path of quirk 11, for worlds whose colliding bodies are multibody
        bases of one box or one plane each (rooms, floor plans, benchmark clutter): there a
        ray's uid alone names its geom, and the exact entry into it needs neither Bullet's
        fraction nor its link column. A plane is a box of half size (inf, inf, 0): its entry
        is the crossing of its z = 0 face. Other worlds take the general path."""
        self._box_rays = None
        if self._ray_table_width != 1:
            return
        recs, geoms = [], []
        for body, _, _ in scene.walk():
            colliding = [geom for geom in body.geoms if geom.collide]
            if not colliding:
                continue
            if len(colliding) != 1 or colliding[0].type not in ("box", "plane"):
                return
            recs.append(self._body_by_name[body.name])
            geoms.append(colliding[0])
        self._box_rays = _BoxRays.build(recs, geoms, self._static_pos, self._static_quat, len(self._ray_table_base) - 1)

    def _cache_static_poses(self) -> None:
        """Static bodies never move: their poses are read once here. The moving ones are read
        per multibody by body_poses(), in the order planned here."""
        self._movable = [mb for mb in self._multibodies if mb.movable]
        self._multibody_of = {mb.uid: mb for mb in self._multibodies}
        n = len(self._bodies)
        self._static_pos = np.zeros((n, 3))
        self._static_quat = np.tile([1.0, 0.0, 0.0, 0.0], (n, 1))
        for rec in self._bodies:
            if rec.static:
                pos, quat = self._query_pose(rec)
                self._static_pos[rec.row], self._static_quat[rec.row] = pos, quat
        self._all_poses = self._pose_plan(self._bodies)
        self._pose_plans: dict[tuple[str, ...], _PosePlan] = {}

    def _pose_plan(self, recs: Sequence[_BodyRec]) -> _PosePlan:
        """Queries that read the moving bodies among ``recs`` (output row i is recs[i]) at
        once per multibody. The body frame follows from the COM frame q (x, y, z, w) as
        quat = M·q and pos = com + Σ q_j q_k B[jk]: two batched products for all bodies."""
        groups: dict[int, tuple[list[int], list[tuple[int, int]]]] = {}  # uid -> (base rows, (link, row))
        for row, rec in enumerate(recs):
            if not rec.static:
                base_rows, links = groups.setdefault(rec.uid, ([], []))
                if rec.link < 0:
                    base_rows.append(row)
                else:
                    links.append((rec.link, row))
        queries, order = [], []
        for uid, (base_rows, links) in groups.items():
            for row in base_rows:  # a base asked for twice is read twice: rows stay simple
                queries.append((uid, True, []))
                order.append(row)
            if links:
                queries.append((uid, False, [link for link, _ in links]))
                order += [row for _, row in links]
        moving = [recs[row] for row in order]
        return _PosePlan(
            queries=queries,
            rows=np.array(order, dtype=np.intp),
            quat_map=np.array([_right_product_matrix(quat_conj(rec.com_quat)) for rec in moving]).reshape(-1, 4, 4),
            origin_basis=np.array([_rotation_basis(np.array(rec.origin_in_com)) for rec in moving]).reshape(-1, 16, 3),
            pos0=np.array([self._static_pos[rec.row] for rec in recs]).reshape(-1, 3),
            quat0=np.array([self._static_quat[rec.row] for rec in recs]).reshape(-1, 4),
            com_is_frame=all(rec.com_is_frame for rec in moving),
            all_rows=order == list(range(len(recs))),
        )

    def _warn_unsupported(self, scene: Scene) -> None:
        notes = []
        for body, _, _ in scene.walk():
            joint = body.joint
            if joint is not None and joint.armature > 0:
                notes.append(f"joint {joint.name!r}: armature is ignored")
            surfaces = {(g.friction, g.torsional_friction, g.rolling_friction, g.restitution) for g in body.geoms if g.collide}
            if len(surfaces) > 1:
                notes.append(f"body {body.name!r}: geoms differ in friction/restitution; PyBullet uses the first colliding geom's")
        if notes:
            warnings.warn("pybullet backend: " + "; ".join(notes), stacklevel=4)

    # -- dynamics settings -------------------------------------------------------
    def _apply_mass(self, rec: _BodyRec) -> None:
        # Mass and inertia in a call of their own (quirk 1).
        pb.changeDynamics(
            rec.uid, rec.link, mass=rec.mass_kg, localInertiaDiagonal=rec.inertia, physicsClientId=self._cid
        )

    def _apply_surface(self, rec: _BodyRec) -> None:
        first = rec.surfaces[0]
        pb.changeDynamics(
            rec.uid,
            rec.link,
            lateralFriction=first.friction,
            spinningFriction=first.torsional_friction,
            rollingFriction=first.rolling_friction,
            restitution=first.restitution,
            physicsClientId=self._cid,
        )

    def _rebuild_step_plans(self) -> None:
        """Split the actuators into C-side PD plans, brakes (joint motors) and Python torque
        plans, and list the bodies that need drag, so step() stays lean."""
        on_joint: dict[tuple[int, int], list[int]] = {}
        self._brakes = [i for i, spec in enumerate(self._act_spec) if spec[0] == _BRAKE]
        for i, joint in enumerate(self._act_joint):
            if i not in self._brakes:
                on_joint.setdefault((joint.body.uid, joint.index), []).append(i)
        pd: dict[int, _PdPlan] = {}
        by_uid: dict[int, list[int]] = {}
        for i, joint in enumerate(self._act_joint):
            if i in self._brakes:
                continue
            if self._pd_capable(i, len(on_joint[(joint.body.uid, joint.index)])):
                plan = pd.setdefault(joint.body.uid, _PdPlan(joint.body.uid, [], []))
                plan.joints.append(joint.index)
                plan.actuators.append(i)
            else:
                by_uid.setdefault(joint.body.uid, []).append(i)
        self._pd_plans = list(pd.values())
        self._pd_sent: list[list[float] | None] = [None] * len(self._act_spec)
        self._pd_snapshot: tuple[list[float], list[float]] | None = None  # (ctrl, gain) of the last _send_pd
        self._torque_plans = []
        for uid, acts in by_uid.items():
            slots = sorted({self._act_joint[i].index for i in acts})
            self._torque_plans.append(
                _TorquePlan(
                    uid=uid,
                    joints=slots,
                    actuators=[(i, slots.index(self._act_joint[i].index)) for i in acts],
                    stateless=all(self._act_spec[i][0] == _TORQUE for i in acts),
                )
            )
        self._drag_bodies = [rec for rec in self._bodies if rec.linear_damping > 0 or rec.angular_damping > 0]
        self._lean = not self._torque_plans and not self._drag_bodies
        self._pd_dirty = True

    def _pd_capable(self, act: int, n_on_joint: int) -> bool:
        """Whether PyBullet's PD controller gives this actuator's law exactly: a position or
        velocity actuator alone on its joint with a symmetric force range."""
        kind, _, _, _, lo, hi = self._act_spec[act]
        return kind in (_POSITION, _VELOCITY) and n_on_joint == 1 and lo == -hi

    def _send_pd(self) -> None:
        """Targets, gains and force limits of the C-side PD controllers, for the actuators whose
        values changed. Sent straight to the plugin (quirk 12): (q*, q̇*, kd, kp, max force).
        Brakes set their joint's velocity motor (target 0, force = the brake torque), which
        PyBullet solves as a constraint, like the joint friction its manual describes."""
        snapshot = (self._ctrl.tolist(), self._gain.tolist())
        if snapshot == self._pd_snapshot:  # every command and gain as last sent: nothing to build
            self._pd_dirty = False
            return
        cid, plugin, spec, sent = self._cid, self._pd_plugin, self._act_spec, self._pd_sent
        ctrl, gain = snapshot
        execute = pb.executePluginCommand
        for plan in self._pd_plans:
            for joint, act in zip(plan.joints, plan.actuators):
                kind, p_gain, v_gain, _, _, hi = spec[act]
                g, u = gain[act], ctrl[act]
                if kind == _POSITION:
                    args = [u, 0.0, g * v_gain, g * p_gain, hi]
                else:
                    args = [0.0, u, g * v_gain, 0.0, hi]
                if sent[act] != args:
                    execute(plugin, "", [_PD_SET, plan.uid, joint], args, physicsClientId=cid)
                    sent[act] = args
        for act in self._brakes:  # dry friction: the joint's velocity motor held at 0 with that much force
            _, _, _, gear, _, hi = spec[act]
            force = [min(max(gain[act] * gear * ctrl[act], 0.0), hi)]
            if sent[act] != force:
                joint = self._act_joint[act]
                pb.setJointMotorControl2(joint.body.uid, joint.index, pb.VELOCITY_CONTROL, targetVelocity=0.0, force=force[0],
                                         physicsClientId=cid)
                sent[act] = force
        self._pd_snapshot = snapshot
        self._pd_dirty = False

    def _resend_commands(self) -> None:
        """After a restore: send every brake again (whether restoreState keeps a joint motor's
        force is not PyBullet's documented behaviour), and the PD targets that changed."""
        for act in self._brakes:
            self._pd_sent[act] = None
        if self._brakes:
            self._pd_snapshot = None
        self._pd_dirty = True

    def _disable_pd(self) -> None:
        """Remove this world's PD controllers from the plugin (it outlives resetSimulation)."""
        for plan in getattr(self, "_pd_plans", []):
            for joint in plan.joints:
                pb.executePluginCommand(self._pd_plugin, "", [_PD_REMOVE, plan.uid, joint], [], physicsClientId=self._cid)
        self._pd_plans = []

    # -- per-substep forces ------------------------------------------------------
    def _apply_joint_torques(self, ctrl: list[float], gain: list[float], constant: dict[int, list[float]]) -> None:
        """Python-side actuator forces, one TORQUE_CONTROL call per multibody (PyBullet clears
        joint torques after every stepSimulation). ``constant`` holds the torques of
        stateless plans, computed once per step() call."""
        cid = self._cid
        for plan in self._torque_plans:
            torques = constant.get(id(plan))
            if torques is None:
                states = pb.getJointStates(plan.uid, plan.joints, physicsClientId=cid)
                torques = self._plan_torques(plan, ctrl, gain, states)
            pb.setJointMotorControlArray(plan.uid, plan.joints, pb.TORQUE_CONTROL, forces=torques, physicsClientId=cid)

    def _plan_torques(self, plan: _TorquePlan, ctrl: list[float], gain: list[float], states) -> list[float]:
        """Actuator forces for one multibody; ``states`` None means q = q̇ = 0 (only valid for
        stateless plans)."""
        spec = self._act_spec
        torques = [0.0] * len(plan.joints)
        for act, slot in plan.actuators:
            q, qd = (0.0, 0.0) if states is None else states[slot][:2]
            torques[slot] += _actuator_force(spec[act], ctrl[act], gain[act], q, qd)
        return torques

    def _apply_body_wrenches(self, held: list[tuple[_BodyRec, list[float], list[float]]]) -> None:
        """The held external wrenches ((body, world force, world torque)) and body damping, at
        the current centres of mass: PyBullet clears external forces after every substep."""
        cid, world = self._cid, pb.WORLD_FRAME
        for rec, force, torque in held:
            pb.applyExternalForce(rec.uid, rec.link, force, self._com_position(rec), world, physicsClientId=cid)
            pb.applyExternalTorque(rec.uid, rec.link, torque, world, physicsClientId=cid)
        for rec in self._drag_bodies:  # free bodies, always a multibody's base
            com, orn = pb.getBasePositionAndOrientation(rec.uid, physicsClientId=cid)
            v, w = pb.getBaseVelocity(rec.uid, physicsClientId=cid)
            force, to_origin, torque = _drag(rec, orn, v, w)
            origin = [c + r for c, r in zip(com, to_origin)]
            pb.applyExternalForce(rec.uid, -1, force, origin, pb.WORLD_FRAME, physicsClientId=cid)
            pb.applyExternalTorque(rec.uid, -1, torque, pb.WORLD_FRAME, physicsClientId=cid)

    # -- PyBullet queries, converted to the body frame --------------------------------
    def _com_position(self, rec: _BodyRec) -> tuple[float, float, float]:
        if rec.link < 0:
            return pb.getBasePositionAndOrientation(rec.uid, physicsClientId=self._cid)[0]
        return pb.getLinkState(rec.uid, rec.link, physicsClientId=self._cid)[0]

    def _com_pose(self, rec: _BodyRec) -> tuple[np.ndarray, np.ndarray]:
        """World COM position and COM frame quaternion (w, x, y, z), in full precision (quirk 10)."""
        pos, orn = self._com_pose_raw(rec)
        return np.array(pos), np.array(xyzw_to_wxyz(orn))

    def _com_pose_raw(self, rec: _BodyRec) -> tuple[Sequence[float], Sequence[float]]:
        """The COM position and (x, y, z, w) orientation tuples as PyBullet reports them."""
        if rec.link < 0:
            return pb.getBasePositionAndOrientation(rec.uid, physicsClientId=self._cid)
        return pb.getLinkState(rec.uid, rec.link, computeForwardKinematics=1, physicsClientId=self._cid)[:2]

    def _com_motion(self, rec: _BodyRec) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """COM position, COM frame quaternion, COM linear velocity and angular velocity (world)."""
        cid = self._cid
        if rec.link < 0:
            pos, orn = pb.getBasePositionAndOrientation(rec.uid, physicsClientId=cid)
            v, w = self._base_velocity(rec.uid)
        else:
            state = pb.getLinkState(rec.uid, rec.link, computeLinkVelocity=1, computeForwardKinematics=1, physicsClientId=cid)
            pos, orn, v, w = state[0], state[1], state[6], state[7]
        return np.array(pos), np.array(xyzw_to_wxyz(orn)), np.array(v), np.array(w)

    def _query_pose(self, rec: _BodyRec) -> tuple[np.ndarray, np.ndarray]:
        """The body frame's world pose."""
        if rec.com_is_frame:
            return self._com_pose(rec)
        return self._frame_from_com(rec, *self._com_pose(rec))

    @staticmethod
    def _frame_from_com(rec: _BodyRec, com: np.ndarray, com_quat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        quat = quat_mul(com_quat, quat_conj(rec.com_quat))
        return com - quat_to_mat(quat) @ rec.com_pos, quat

    @staticmethod
    def _com_from_frame(rec: _BodyRec, pos: np.ndarray, quat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return pos + quat_to_mat(quat) @ rec.com_pos, quat_mul(quat, rec.com_quat)

    def _state_changed(self) -> None:
        """The simulator state moved (a step, a reset, a write): reads cached for the old one go."""
        self._aabbs_stale = True
        self._reads.clear()

    def _dof_states(self, mb: _MultiBody) -> tuple:
        """``getJointStates`` of all of ``mb``'s hinge and slide joints, read once per state: the
        divergence check and the task's observation ask for the same numbers every step."""
        states = self._reads.get(mb.uid)
        if states is None:
            states = self._reads[mb.uid] = pb.getJointStates(mb.uid, mb.dofs, physicsClientId=self._cid)
        return states

    def _base_velocity(self, uid: int) -> tuple:
        """``getBaseVelocity`` (COM linear, angular; world), read once per state like ``_dof_states``."""
        velocity = self._reads.get(-1 - uid)  # keys: uid for joint states, -1 - uid for base velocities
        if velocity is None:
            velocity = self._reads[-1 - uid] = pb.getBaseVelocity(uid, physicsClientId=self._cid)
        return velocity

    def _refresh_aabbs(self) -> None:
        """Bring the broadphase boxes up to date before a ray cast, without changing physics (quirk 4)."""
        if not self._aabbs_stale:
            return
        cid = self._cid
        for mb in self._movable:  # the velocities as they are (often read already this state)
            v, w = self._base_velocity(mb.uid)
            pb.resetBaseVelocity(mb.uid, v, w, physicsClientId=cid)
        self._aabbs_stale = False

    # -- lookups by name -------------------------------------------------------
    def _body(self, name: str) -> _BodyRec:
        self._require_compiled()
        rec = self._body_by_name.get(name) if isinstance(name, str) else None
        if rec is None:
            raise unknown_name("body", str(name), list(self._body_by_name))
        return rec

    def _joint(self, name: str) -> _JointRec:
        self._require_compiled()
        rec = self._joints.get(name) if isinstance(name, str) else None
        if rec is None:
            raise unknown_name("joint", str(name), list(self._joints))
        return rec

    def _hinge_or_slide(self, name: str) -> _JointRec:
        joint = self._joint(name)
        if joint.type == "free":
            raise BackendError(f"joint {name!r} is a free joint; use body_pose/body_velocity/set_body_pose for body {joint.body.name!r}")
        return joint

    # -- state -------------------------------------------------------------
    def get_state(self) -> np.ndarray:
        """[token, time_s, per movable multibody: base COM pos (3), base COM quat (4, wxyz),
        base COM linear and angular velocity (3 + 3), joint positions, joint velocities;
        then the actuator controls].

        The token names an in-memory PyBullet state (``saveState``): while it is live,
        ``set_state`` restores it exactly, contact caches and all."""
        self._require_compiled()
        n_ctrl = len(self._ctrl)
        state = np.empty(self._state_size)
        state[0], state[1] = float(next(_TOKENS)), self._time_s
        state[2 : self._state_size - n_ctrl] = self._physical_values()
        state[self._state_size - n_ctrl :] = self._ctrl
        self._remember(pb.saveState(physicsClientId=self._cid), state)
        return state.copy()

    def _physical_values(self) -> np.ndarray:
        cid, values = self._cid, []
        for mb in self._movable:
            pos, orn = pb.getBasePositionAndOrientation(mb.uid, physicsClientId=cid)
            v, w = pb.getBaseVelocity(mb.uid, physicsClientId=cid)
            values += [*pos, *xyzw_to_wxyz(orn), *v, *w]
            if mb.dofs:
                states = pb.getJointStates(mb.uid, mb.dofs, physicsClientId=cid)
                values += [s[0] for s in states] + [s[1] for s in states]
        return np.array(values, dtype=np.float64)

    def _remember(self, state_id: int, state: np.ndarray) -> None:
        """Keep the newest saved states; older ones are freed in PyBullet."""
        self._saved[state[0]] = (state_id, state.copy())
        while len(self._saved) > self._saved_max:
            _, (old_id, _) = self._saved.popitem(last=False)
            pb.removeState(old_id, physicsClientId=self._cid)

    def set_state(self, state: np.ndarray) -> None:
        self._require_compiled()
        arr = self._check_state(state)
        n_ctrl = len(self._ctrl)
        saved = self._saved.get(arr[0])
        if saved is not None and np.array_equal(saved[1], arr):
            pb.restoreState(saved[0], physicsClientId=self._cid)
            self._saved.move_to_end(arr[0])
        else:
            self._write_physical_values(arr[2 : self._state_size - n_ctrl])
        self._ctrl[:] = arr[self._state_size - n_ctrl :]
        self._resend_commands()
        self._time_s = float(arr[1])
        self._state_changed()
        self._pending.clear()  # a restored state starts without apply_force forces (as on MuJoCo)
        self._held = None

    def _check_state(self, state: np.ndarray) -> np.ndarray:
        try:
            arr = np.asarray(state, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise BackendError(f"state must be a float array from get_state(), got {type(state).__name__}") from exc
        if arr.ndim != 1 or arr.size != self._state_size:
            raise BackendError(f"state must have shape ({self._state_size},) for this scene, got {arr.shape}")
        if not np.all(np.isfinite(arr)):
            raise BackendError("state contains NaN or infinite values")
        return arr

    def _write_physical_values(self, values: np.ndarray) -> None:
        """Restore from values alone: first the compiled initial state, so no contact cache of the
        current history survives (the result depends only on ``values``), then each multibody."""
        cid = self._cid
        pb.restoreState(self._initial_state, physicsClientId=cid)
        at = 0
        for mb in self._movable:
            pos, quat, v, w = values[at : at + 3], values[at + 3 : at + 7], values[at + 7 : at + 10], values[at + 10 : at + 13]
            n = len(mb.dofs)
            q, qd = values[at + 13 : at + 13 + n], values[at + 13 + n : at + 13 + 2 * n]
            at += 13 + 2 * n
            if abs(np.linalg.norm(quat) - 1.0) > _UNIT_QUAT_TOL:
                raise BackendError(f"state: base quaternion of {self._tree_name(mb)!r} is not unit length: {quat}")
            if mb.dynamic_base:
                pb.resetBasePositionAndOrientation(mb.uid, pos.tolist(), wxyz_to_xyzw(quat), physicsClientId=cid)
                pb.resetBaseVelocity(mb.uid, v.tolist(), w.tolist(), physicsClientId=cid)
            for index, qi, qdi in zip(mb.dofs, q, qd):
                pb.resetJointState(mb.uid, index, float(qi), float(qdi), physicsClientId=cid)

    @staticmethod
    def _tree_name(mb: _MultiBody) -> str:
        return (mb.base or mb.links[0]).name

    def set_body_pose(self, body: str, pos: Sequence[float], quat: Sequence[float] | None = None) -> None:
        rec = self._body(body)
        if not rec.free_root:
            raise BackendError(f"set_body_pose needs a free body; {body!r} is not free (no free joint on a top-level body)")
        position = _vector(pos, 3, "set_body_pose pos")
        orientation = self._query_pose(rec)[1] if quat is None else _unit_quat(quat, "set_body_pose quat")
        com, com_quat = self._com_from_frame(rec, position, orientation)
        cid = self._cid
        pb.resetBasePositionAndOrientation(rec.uid, com.tolist(), wxyz_to_xyzw(com_quat), physicsClientId=cid)
        pb.resetBaseVelocity(rec.uid, [0.0, 0.0, 0.0], [0.0, 0.0, 0.0], physicsClientId=cid)
        self._state_changed()

    def set_body_velocity(
        self, body: str, linear_m_s: Sequence[float], angular_rad_s: Sequence[float] = (0.0, 0.0, 0.0)
    ) -> None:
        rec = self._body(body)
        if not rec.free_root:
            raise BackendError(f"set_body_velocity needs a free body; {body!r} is not free (no free joint on a top-level body)")
        v_frame = _vector(linear_m_s, 3, "set_body_velocity linear_m_s")
        omega = _vector(angular_rad_s, 3, "set_body_velocity angular_rad_s")
        com, com_quat = self._com_pose(rec)
        origin, _ = self._frame_from_com(rec, com, com_quat)
        v_com = v_frame + _cross(omega, com - origin)  # PyBullet's base velocity is the COM's
        pb.resetBaseVelocity(rec.uid, v_com.tolist(), omega.tolist(), physicsClientId=self._cid)
        self._state_changed()

    def set_joint_position(self, joint: str, value: float, velocity: float = 0.0) -> None:
        rec = self._hinge_or_slide(joint)
        q = _scalar(value, f"joint {joint!r} position")
        qd = _scalar(velocity, f"joint {joint!r} velocity")
        pb.resetJointState(rec.body.uid, rec.index, q, qd, physicsClientId=self._cid)
        self._state_changed()

    # -- controls and forces ---------------------------------------------------
    def set_controls(self, controls: Mapping[str, float]) -> None:
        self._require_compiled()
        if not isinstance(controls, Mapping):
            raise BackendError(f"controls must be a mapping of actuator name to value, got {type(controls).__name__}")
        updates = {}
        for name, value in controls.items():
            index = self._act_index.get(name) if isinstance(name, str) else None
            if index is None:
                raise unknown_name("actuator", str(name), self._act_names)
            lo, hi = self._ctrl_range[index]
            updates[index] = min(max(_scalar(value, f"control {name!r}"), lo), hi)
        for index, value in updates.items():  # all or nothing: a bad entry changes no control
            self._ctrl[index] = value
        self._pd_dirty = True

    def set_control_array(self, actuators: tuple[str, ...], values: np.ndarray) -> None:
        if self._cid is None:  # _require_compiled() without its call: this runs every step
            self._require_compiled()
        plan = self._control_plans.get(actuators)
        if plan is None:
            names = tuple(actuators)
            for name in names:
                if name not in self._act_index:
                    raise unknown_name("actuator", str(name), self._act_names)
            idx = np.array([self._act_index[n] for n in names], dtype=np.intp)
            plan = self._control_plans[names] = (idx, np.array([self._ctrl_range[i][0] for i in idx]), np.array([self._ctrl_range[i][1] for i in idx]))
        idx, lo, hi = plan
        try:
            changed = native.put(self._ctrl, idx, values, lo, hi)
        except ValueError:
            raise BackendError(f"set_control_array: {len(idx)} actuators but values of shape {np.shape(values)}") from None
        if changed < 0:
            raise BackendError(f"actuator commands must be finite, got {values}")
        if changed:
            self._pd_dirty = True

    def apply_force(
        self,
        body: str,
        force_n: Sequence[float] = (0.0, 0.0, 0.0),
        torque_nm: Sequence[float] = (0.0, 0.0, 0.0),
        point: Sequence[float] | str | None = None,
        frame: Frame = "world",
    ) -> None:
        """Stored as a world force at the centre of mass plus a world torque about it, and
        applied unchanged every substep of the next step() (MuJoCo's xfrc_applied semantics)."""
        rec = self._body(body)
        if rec.static:
            raise BackendError(f"apply_force: body {body!r} is static (welded to the world); forces on it do nothing")
        if frame not in ("world", "body"):
            raise BackendError(f"apply_force frame must be 'world' or 'body', got {frame!r}")
        if point is None and frame == "world" and rec.com_is_frame:  # it acts at the COM as given
            force, torque = _floats3(force_n, "force_n"), _floats3(torque_nm, "torque_nm")
        else:
            force_v, torque_v = _vector(force_n, 3, "force_n"), _vector(torque_nm, 3, "torque_nm")
            com, com_quat = self._com_pose(rec)
            pos, quat = self._frame_from_com(rec, com, com_quat)
            rot = quat_to_mat(quat)
            if frame == "body":
                force_v, torque_v = rot @ force_v, rot @ torque_v
            if point is None:
                at = pos
            elif isinstance(point, str):
                at = self.site_pose(point)[0]
            else:
                local = _vector(point, 3, "apply_force point")
                at = pos + rot @ local if frame == "body" else local
            force, torque = force_v.tolist(), (torque_v + _cross(at - com, force_v)).tolist()
        key = (rec.uid, rec.link)
        if key in self._pending:  # forces on one body in one step add up
            _, old_force, old_torque = self._pending[key]
            force = [a + b for a, b in zip(force, old_force)]
            torque = [a + b for a, b in zip(torque, old_torque)]
        self._pending[key] = (rec, force, torque)  # plain floats: sent to PyBullet every substep

    # -- kinematics ----------------------------------------------------------
    def body_pose(self, body: str) -> tuple[np.ndarray, np.ndarray]:
        rec = self._body(body)
        if rec.static:
            return self._static_pos[rec.row].copy(), self._static_quat[rec.row].copy()
        return self._query_pose(rec)

    def body_motion(self, body: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        rec = self._body(body)
        if rec.static:
            return self._static_pos[rec.row].copy(), self._static_quat[rec.row].copy(), np.zeros(3), np.zeros(3)
        com, com_quat, v_com, omega = self._com_motion(rec)  # one read of both pose and velocity
        if rec.com_is_frame:
            return com, com_quat, v_com, omega
        pos, quat = self._frame_from_com(rec, com, com_quat)
        return pos, quat, v_com + _cross(omega, pos - com), omega  # PyBullet reports the COM's velocity

    def body_velocity(self, body: str, frame: Frame = "world") -> tuple[np.ndarray, np.ndarray]:
        rec = self._body(body)
        if frame not in ("world", "body"):
            raise BackendError(f"body_velocity frame must be 'world' or 'body', got {frame!r}")
        if rec.static:
            return np.zeros(3), np.zeros(3)
        com, com_quat, v_com, omega = self._com_motion(rec)
        if rec.com_is_frame:
            quat, v_frame = com_quat, v_com
        else:
            pos, quat = self._frame_from_com(rec, com, com_quat)
            v_frame = v_com + _cross(omega, pos - com)  # PyBullet reports the COM's velocity
        if frame == "body":
            rot_t = quat_to_mat(quat).T
            return rot_t @ v_frame, rot_t @ omega
        return v_frame, omega

    def body_poses(self, bodies: Sequence[str] | None = None) -> tuple[np.ndarray, np.ndarray]:
        if self._cid is None:  # _require_compiled() without its call: this runs every step
            self._require_compiled()
        if bodies is None:
            plan = self._all_poses
        else:
            plan = self._pose_plans.get(bodies) if isinstance(bodies, tuple) else None
            if plan is None:
                if isinstance(bodies, str):
                    raise BackendError(f"body_poses takes a sequence of body names, got the string {bodies!r}")
                key = tuple(bodies)
                plan = self._pose_plans.get(key) or self._pose_plan([self._body(name) for name in key])
                if len(self._pose_plans) >= _JOINT_GROUPS_MAX:
                    self._pose_plans.clear()
                self._pose_plans[key] = plan
        cid = self._cid
        values: list[float] = []  # per moving body: COM position, then COM orientation (x, y, z, w)
        for uid, base, links in plan.queries:
            if base:
                com, orn = pb.getBasePositionAndOrientation(uid, physicsClientId=cid)
                values += com
                values += orn
            else:
                for state in pb.getLinkStates(uid, links, computeForwardKinematics=1, physicsClientId=cid):
                    values += state[0]
                    values += state[1]
        if plan.com_is_frame and plan.all_rows:  # primitives with their COM at the origin: as read
            return native.pose_rows(values)
        pos, quat = plan.pos0.copy(), plan.quat0.copy()
        if values and plan.com_is_frame:
            pos[plan.rows], quat[plan.rows] = native.pose_rows(values)
        elif values:  # COM frames -> body frames, all at once
            n = len(plan.rows)
            flat = np.array(values).reshape(n, 7)
            orn = flat[:, 3:]
            quat[plan.rows] = np.einsum("nij,nj->ni", plan.quat_map, orn)
            pairs = (orn[:, :, None] * orn[:, None, :]).reshape(n, 16)
            pos[plan.rows] = flat[:, :3] + np.einsum("nj,njk->nk", pairs, plan.origin_basis)
        return pos, quat

    @property
    def body_names(self) -> tuple[str, ...]:
        self._require_compiled()
        return self._names

    def body_index(self, body: str) -> int:
        return self._body(body).row

    def site_pose(self, site: str) -> tuple[np.ndarray, np.ndarray]:
        self._require_compiled()
        entry = self._sites.get(site) if isinstance(site, str) else None
        if entry is None:
            raise unknown_name("site", str(site), list(self._sites))
        rec, local_pos, local_quat = entry
        pos, quat = self.body_pose(rec.name)
        return pos + quat_to_mat(quat) @ local_pos, quat_mul(quat, local_quat)

    def joint_state(self, joint: str) -> tuple[float, float]:
        rec = self._hinge_or_slide(joint)
        q, qd = pb.getJointState(rec.body.uid, rec.index, physicsClientId=self._cid)[:2]
        return float(q), float(qd)

    def joint_states(self, joints: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        if self._cid is None:  # _require_compiled() without its call: this runs every step
            self._require_compiled()
        if isinstance(joints, str):
            raise BackendError(f"joint_states takes a sequence of joint names, got the string {joints!r}")
        groups = (type(joints) is tuple and self._joint_groups.get(joints)) or self._joint_group(tuple(joints))
        if len(groups) == 1:  # one multibody's joints: its rows are in order
            mb, slots, _ = groups[0]
            return native.joint_columns(self._dof_states(mb), slots)
        n = len(joints)
        q, qd = np.empty(n), np.empty(n)
        for mb, slots, rows in groups:
            q[rows], qd[rows] = native.joint_columns(self._dof_states(mb), slots)
        return q, qd

    def _joint_group(self, joints: tuple[str, ...]) -> list[tuple[_MultiBody, list[int], np.ndarray]]:
        """(multibody, positions in its ``dofs``, output rows) per multibody for ``joints``, cached per tuple."""
        groups = self._joint_groups.get(joints)
        if groups is not None:
            return groups
        by_uid: dict[int, tuple[_MultiBody, list[int], list[int]]] = {}
        for row, name in enumerate(joints):
            rec = self._hinge_or_slide(name)
            mb = self._multibody_of[rec.body.uid]
            _, slots, rows = by_uid.setdefault(mb.uid, (mb, [], []))
            slots.append(mb.dofs.index(rec.index))
            rows.append(row)
        groups = [(mb, slots, np.array(rows, dtype=np.intp)) for mb, slots, rows in by_uid.values()]
        if len(self._joint_groups) >= _JOINT_GROUPS_MAX:
            self._joint_groups.clear()
        self._joint_groups[joints] = groups
        return groups

    def contacts(self, body: str) -> list[Contact]:
        rec = self._body(body)
        points = pb.getContactPoints(bodyA=rec.uid, linkIndexA=rec.link, physicsClientId=self._cid)
        contacts = []
        for point in points:  # PyBullet puts the queried body first and the normal on B into A
            row = self._ray_table[point[2], point[4] + 1]
            contacts.append(
                Contact(
                    body=rec.name,
                    other=self._names[row] if row >= 0 else "",
                    pos=np.array(point[5]),
                    normal=np.array(point[7]),
                    normal_force_n=float(point[9]),
                    distance_m=float(point[8]),
                )
            )
        return contacts

    # -- rays ------------------------------------------------------------------
    def cast_rays(self, origins, directions, max_range_m: float = 100.0, *, unit_directions: bool = False) -> RayHits:
        self._require_compiled()
        starts, units = as_ray_arrays(origins, directions, unit_directions)
        max_range = _scalar(max_range_m, "max_range_m")
        if max_range <= 0:
            raise BackendError(f"max_range_m must be > 0, got {max_range_m!r}")
        return self._cast(starts, units, max_range)

    def ray_fan(self, body: str, directions: np.ndarray, origin: Sequence[float] = (0.0, 0.0, 0.0), max_range_m: float = 100.0) -> RayFan:
        return _PybulletRayFan(self, body, directions, origin, max_range_m)

    def _cast(self, starts: np.ndarray, units: np.ndarray, max_range: float) -> RayHits:
        """cast_rays on checked inputs: origins (3,) shared or (N, 3), unit directions (N, 3)."""
        shared = starts.shape == (3,)
        ends = units * max_range
        ends += starts
        if shared:  # rayTestBatch reads a contiguous array faster than a broadcast one
            pose = np.eye(4)
            pose[:3, 3] = starts
            starts = np.empty_like(units)
            starts[:] = pose[:3, 3]
        self._refresh_aabbs()
        hits = self._ray_test(starts, ends)
        if shared:
            return self._ray_hits(hits, max_range, units, pose=pose)
        return self._ray_hits(hits, max_range, units, starts=starts)

    def _ray_hits(
        self, hits: _RayAnswer, max_range: float, units: np.ndarray, *, pose: np.ndarray | None = None, starts: np.ndarray | None = None, units_t: np.ndarray | None = None
    ) -> RayHits:
        """rayTestBatch's answer as RayHits, with exact distances to primitives (quirk 11).
        Rays from one origin come with ``pose`` (4, 4): the frame of their directions
        ``units`` (N, 3) in the world, its origin theirs (``units_t``: the directions
        transposed, if the caller keeps them); others with their world ``starts`` (N, 3) and
        world ``units``. The per-ray tuples are read without per-ray Python (``_RayAnswer.read``),
        only the columns needed; in a world of boxes the exact entries come from one C pass
        (``native.kernels.box_entries``) or from ``_BoxRays.entry_distances``."""
        boxes = self._box_rays if pose is not None else None
        if boxes is not None:
            kernels = native.kernels
            uid, _, fraction = hits.read(fraction=kernels is not None)
            if boxes.moving.size and boxes.is_moving.take(uid).any():
                boxes.refresh_moving(*self.body_poses(boxes.moving_bodies))
            if kernels is not None:  # the C twin of the numpy lines below
                distance = np.empty(hits.n)
                kernels.box_entries(uid, fraction, boxes.frames, pose, boxes.halves, units, max_range, distance)
                return RayHits(distance, max_range, self._names, uid, self._ray_table_base)
            distance = boxes.entry_distances(uid, pose, np.ascontiguousarray(units.T) if units_t is None else units_t)
            # a start inside a box, or every ray a miss (rare): Bullet's distance where the exact one has none
            if not (np.fmin.reduce(distance) >= 0 and np.fmax.reduce(distance) <= max_range):
                bullet = hits.column(_FRACTION, np.float64) * max_range
                odd = ~((distance >= 0) & (distance <= max_range))
                distance[odd] = bullet[odd]
                distance[uid < 0] = np.nan
            return RayHits(distance, max_range, self._names, uid, self._ray_table_base)
        uid, link, distance = hits.read(link=self._ray_table_width != 1, fraction=True)
        if link is None:  # no body has links: one lookup by uid (its last entry serves uid -1)
            index = self._ray_table_base.take(uid)
        else:  # row uid + 1, column link + 1 of the table (row 0 serves a miss)
            key = (uid + 1) * self._ray_table_width
            key += link
            key += 1
            index = self._ray_table_flat.take(key)
        distance *= max_range
        np.putmask(distance, uid < 0, -1.0)  # RayHits' mark of a miss
        if pose is None:
            self._refine_distances(starts, units, index, distance, max_range)
        else:
            self._refine_distances(pose[:3, 3], units, index, distance, max_range, pose[:3, :3])
        return RayHits(distance, max_range, self._names, index)

    def _ray_test(self, starts: np.ndarray, ends: np.ndarray, parent: _BodyRec | None = None) -> _RayAnswer:
        """rayTestBatch in chunks below its limit (quirk 9), on all threads. With ``parent``,
        the rays are in that body's COM frame and PyBullet places them."""
        n, cid = len(starts), self._cid
        frame = {} if parent is None else {"parentObjectUniqueId": parent.uid, "parentLinkIndex": parent.link}
        chunks = [
            pb.rayTestBatch(starts[lo : lo + _RAY_CHUNK], ends[lo : lo + _RAY_CHUNK], numThreads=0, physicsClientId=cid, **frame)
            for lo in range(0, n, _RAY_CHUNK)  # rayTestBatch reads numpy rows directly
        ]
        answered = sum(map(len, chunks))
        if answered != n:
            raise BackendError(f"rayTestBatch answered {answered} of {n} rays")
        return _RayAnswer(chunks, n)

    def _refine_distances(
        self, starts: np.ndarray, units: np.ndarray, index: np.ndarray, distance: np.ndarray, max_range: float, frame_rot: np.ndarray | None = None
    ) -> None:
        """Replace Bullet's approximate distances by exact ones where the hit body is made only
        of primitives (quirk 11): the nearest entry over that body's geoms, in place. Static
        geoms' frames are cached; bodies of one geom (the common case) skip the grouping.
        ``starts`` (3,) is the one origin of all rays, else (N, 3); ``units`` are in world axes,
        or in the axes of ``frame_rot`` (world <- frame)."""
        if self._ray_single_geom:
            geom_of = self._ray_geom_of_index.take(index)
            rays = (geom_of >= 0).nonzero()[0]
            if rays.size == 0:
                return
            ray_of = rays
            geom_of = geom_of.take(rays)
        else:  # one (ray, geom) pair per geom of the hit body
            counts = self._ray_geom_count_of_index.take(index)
            rays = np.flatnonzero(counts)
            if rays.size == 0:
                return
            counts = counts[rays]
            ray_of = np.repeat(rays, counts)
            first = np.cumsum(counts) - counts
            geom_of = np.repeat(self._ray_geom_start[index[rays]], counts) + np.arange(counts.sum()) - np.repeat(first, counts)
        axes = self._ray_geom_axes  # (3G, 3): row 3g + i is axis i of geom g, in world coordinates
        if self._ray_moving_geoms.size:  # current frames of the moving geoms
            rot, origin = self._ray_geom_rot.copy(), self._ray_geom_origin.copy()
            pos, quat = self.body_poses(self._ray_moving_bodies)
            rot[self._ray_moving_geoms], origin[self._ray_moving_geoms] = self._geom_frames(pos, quat, self._ray_moving_geoms)
            axes = np.ascontiguousarray(rot.transpose(0, 2, 1)).reshape(-1, 3)
            origin_local = np.einsum("gij,gj->gi", axes.reshape(-1, 3, 3), origin).reshape(-1)
        else:
            origin, origin_local = self._ray_geom_origin, self._ray_geom_origin_local
        if starts.shape == (3,):  # one origin: put it in each geom's frame once, not once per ray
            o = (axes @ starts - origin_local).reshape(-1, 3).take(geom_of, axis=0)
        else:
            o = np.einsum("kij,kj->ki", axes.reshape(-1, 3, 3).take(geom_of, axis=0), starts.take(ray_of, axis=0) - origin.take(geom_of, axis=0))
        if frame_rot is not None:  # directions in the frame's axes: the geom axes seen from that frame
            axes = axes @ frame_rot
        d = np.einsum("kij,kj->ki", axes.reshape(-1, 3, 3).take(geom_of, axis=0), units.take(ray_of, axis=0))  # rays in the geom frame
        # a body of one geom that Bullet says is hit: the ray surely enters the exact shape
        known_hit = self._ray_single_geom
        if len(self._ray_kinds) == 1:
            t = _ray_primitive(self._ray_kinds[0], o, d, self._ray_geom_size.take(geom_of, axis=0), known_hit)
        else:
            t = np.full(len(geom_of), np.inf)
            kinds = self._ray_geom_kind[geom_of]
            for kind in self._ray_kinds:
                sel = kinds == kind
                if sel.any():
                    t[sel] = _ray_primitive(kind, o[sel], d[sel], self._ray_geom_size[geom_of[sel]], known_hit)
        if not self._ray_single_geom:
            exact = np.full(len(distance), np.inf)
            np.minimum.at(exact, ray_of, t)
            t, ray_of = exact[rays], rays
        if t.max() <= max_range:  # every ray has its exact entry (the common case)
            distance[ray_of] = t
            return
        better = t <= max_range  # inf (no entry found) fails too
        distance[ray_of[better]] = t[better]

    # -- physical parameters -----------------------------------------------
    def _list_params(self) -> list[str]:
        names = ["gravity", "timestep_s"]
        for rec in self._bodies:
            if not rec.static:
                names += [f"{rec.name}.{attr}" for attr in _MASS_PARAMS]
            if rec.free_root:
                names += [f"{rec.name}.{attr}" for attr in _DAMPING_PARAMS]
            if rec.surfaces:
                names += [f"{rec.name}.{attr}" for attr in _SURFACE_PARAMS]
        for geom_name in self._surfaces:
            names += [f"{geom_name}.{attr}" for attr in _SURFACE_PARAMS]
        names += [f"{j.name}.damping" for j in self._joints.values() if j.type != "free"]
        names += [f"{name}.gain" for name in self._act_names]
        return names

    def param_names(self) -> list[str]:
        self._require_compiled()
        return list(self._param_names)

    def _split_param(self, name: str) -> tuple[str, str]:
        """(owner, attribute) of a known parameter name, or a BackendError naming the problem."""
        self._require_compiled()
        if not isinstance(name, str):
            raise BackendError(f"parameter names are strings, got {name!r}")
        if name in ("gravity", "timestep_s"):
            return "", name
        owner, _, attr = name.rpartition(".")
        rec = self._body_by_name.get(owner)
        if rec is not None and rec.static and attr in _MASS_PARAMS:
            raise BackendError(f"unknown parameter {name!r}: body {owner!r} is static (welded to the world) and has no {attr}")
        if rec is not None and not rec.free_root and attr in _DAMPING_PARAMS:
            raise BackendError(f"unknown parameter {name!r}: only free bodies have {attr} (as in MuJoCo)")
        if name not in self._param_set:
            raise param_error(name, self._param_names)
        return owner, attr

    def get_param(self, name: str) -> float | np.ndarray:
        owner, attr = self._split_param(name)
        if attr == "gravity":
            return self._gravity.copy()
        if attr == "timestep_s":
            return self._dt
        if owner in self._body_by_name:
            rec = self._body_by_name[owner]
            return float(getattr(rec.surfaces[0] if attr in _SURFACE_PARAMS else rec, attr))
        if owner in self._surfaces:
            return float(getattr(self._surfaces[owner], attr))
        if owner in self._joints:
            return self._joints[owner].damping
        return float(self._gain[self._act_index[owner]])

    def set_param(self, name: str, value: float | Sequence[float]) -> None:
        owner, attr = self._split_param(name)
        if attr == "gravity":
            self._gravity = _vector(value, 3, "gravity")
            pb.setGravity(*self._gravity, physicsClientId=self._cid)
            return
        number = _scalar(value, name)
        if attr == "timestep_s":
            self._set_timestep(number)
        elif owner in self._body_by_name:
            self._set_body_param(self._body_by_name[owner], attr, number, name)
        elif owner in self._surfaces:
            self._set_surface_param(self._surfaces[owner], attr, number, name)
        elif owner in self._joints:
            joint = self._joints[owner]
            joint.damping = self._non_negative(number, name)
            pb.changeDynamics(joint.body.uid, joint.index, jointDamping=joint.damping, physicsClientId=self._cid)
        else:
            self._gain[self._act_index[owner]] = self._non_negative(number, name)
            self._pd_dirty = True

    def _set_timestep(self, dt: float) -> None:
        if dt <= 0:
            raise BackendError(f"timestep_s must be > 0, got {dt}")
        self._dt = dt
        pb.setPhysicsEngineParameter(fixedTimeStep=dt, physicsClientId=self._cid)

    def _set_body_param(self, rec: _BodyRec, attr: str, value: float, name: str) -> None:
        if attr in _SURFACE_PARAMS:
            for surface in rec.surfaces:
                self._set_surface_param(surface, attr, value, name)
            return
        if attr in _MASS_PARAMS:
            if value <= 0:
                raise BackendError(f"{name} must be > 0, got {value}")
            setattr(rec, attr, value)
            self._apply_mass(rec)
            return
        setattr(rec, attr, self._non_negative(value, name))  # linear_damping, angular_damping
        self._rebuild_step_plans()

    def _set_surface_param(self, surface: _Surface, attr: str, value: float, name: str) -> None:
        if attr == "restitution" and not 0.0 <= value <= 1.0:
            raise BackendError(f"{name} must be in [0, 1], got {value}")
        setattr(surface, attr, self._non_negative(value, name))
        if surface is surface.body.surfaces[0]:
            self._apply_surface(surface.body)

    @staticmethod
    def _non_negative(value: float, name: str) -> float:
        if value < 0:
            raise BackendError(f"{name} must be >= 0, got {value}")
        return value


class _PybulletRayFan(RayFan):
    """A ray fan whose rays are kept in the body's COM frame, the frame PyBullet reports. On a
    body that is a multibody's base, rayTestBatch takes them in that frame (its parent
    object option) and places them itself, so a cast builds no arrays: one engine call, one
    pose read for the exact-distance step. On a link, a cast rotates them with one small
    product; on a static body the world rays are fixed at build."""

    def __init__(self, backend: PybulletBackend, body: str, directions: np.ndarray, origin: Sequence[float], max_range_m: float):
        super().__init__(backend, body, directions, origin, max_range_m)
        rec = self._rec = backend._body(body)
        com_rot = quat_to_mat(rec.com_quat)  # COM frame axes in the body frame
        self._local[-1] -= rec.com_pos
        self._local = self._local @ com_rot  # rows rotated by com_rot.T: now in the COM frame
        self._fixed_origin = None
        if rec.static:  # never moves: the world rays once, here
            pos, quat = backend.body_pose(body)
            rot = quat_to_mat(quat)
            np.matmul(self._local, (rot @ com_rot).T, out=self._world)
            self._fixed_origin = pos + rot @ rec.com_pos + self._world[-1]
        self._units = np.ascontiguousarray(self._local[: self.n])  # directions in the COM frame
        self._units_t = np.ascontiguousarray(self._units.T)
        self._offset = self._local[-1].copy()  # the shared origin in the COM frame
        self._starts = np.empty_like(self._units)  # COM-frame ray ends, for the parent-frame cast
        self._starts[:] = self._offset
        self._ends = self._units * self.max_range_m + self._offset
        self._com_pose = np.eye(4)  # the COM frame in the world, rewritten per cast
        self._mount = np.eye(4)  # the rays' frame in the COM frame: the COM axes at the shared origin
        self._mount[:3, 3] = self._offset

    def cast(self) -> RayHits:
        backend, rec = self.backend, self._rec
        backend._require_compiled()
        if self._fixed_origin is not None:
            return backend._cast(self._fixed_origin, self._directions, self.max_range_m)
        if rec.link >= 0:
            com, (x, y, z, w) = backend._com_pose_raw(rec)
            np.matmul(self._local, quat_to_mat((w, x, y, z)).T, out=self._world)
            return backend._cast(self._world[-1] + com, self._directions, self.max_range_m)
        backend._refresh_aabbs()
        hits = backend._ray_test(self._starts, self._ends, rec)
        com, orn = backend._com_pose_raw(rec)
        pose = np.empty((4, 4))  # the rays' frame: the COM frame moved to their origin
        if native.kernels is not None:  # the C twin of the three lines below
            native.kernels.frame_pose(com, orn, self._offset, pose)
        else:
            self._com_pose[:3, :3].flat = pb.getMatrixFromQuaternion(orn)
            self._com_pose[:3, 3] = com
            np.matmul(self._com_pose, self._mount, out=pose)
        return backend._ray_hits(hits, self.max_range_m, self._units, pose=pose, units_t=self._units_t)
