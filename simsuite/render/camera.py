"""Camera geometry: intrinsics, the one ROS-optical-to-GL conversion, and camera helpers.

A :class:`~simsuite.scene.Camera` is a pinhole in its optical frame: +z forward, +x right,
+y down (ROS REP-103/104), square pixels, principal point at the image centre. Pixel
(u, v) = (column, row) has its centre at integer coordinates (OpenCV and ROS CameraInfo
convention), so ``K = [[f, 0, (W-1)/2], [0, f, (H-1)/2], [0, 0, 1]]`` with
``f = (H/2) / tan(fovy/2)``. Image row 0 is the top of the picture.
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np

from simsuite.scene import Body, Camera, Scene
from simsuite.transforms import mat_to_quat, quat_from_axis_angle, quat_to_mat


def check_camera(camera: Camera) -> None:
    if not (isinstance(camera.width, (int, np.integer)) and isinstance(camera.height, (int, np.integer))) or camera.width < 1 or camera.height < 1:
        raise ValueError(f"camera {camera.name!r}: width and height must be positive integers, got {camera.width}x{camera.height}")
    if not 0.0 < camera.fovy_deg < 180.0:
        raise ValueError(f"camera {camera.name!r}: fovy_deg must be in (0, 180), got {camera.fovy_deg}")


def focal_px(camera: Camera) -> float:
    return 0.5 * camera.height / math.tan(math.radians(camera.fovy_deg) / 2)


def intrinsics(camera: Camera) -> np.ndarray:
    """The 3x3 intrinsic matrix K (pixels), as ROS CameraInfo ``k`` wants it."""
    f = focal_px(camera)
    return np.array([[f, 0.0, (camera.width - 1) / 2], [0.0, f, (camera.height - 1) / 2], [0.0, 0.0, 1.0]])


def projection_matrix(camera: Camera, near_m: float, far_m: float) -> np.ndarray:
    """Optical frame -> GL clip space (row-major, column vectors). Because the optical y
    axis points down and GL reads rows bottom-up, row 0 of the readback is the image top:
    no flip is needed anywhere. Window depth follows the usual [near, far] -> [-1, 1]."""
    f = focal_px(camera)
    a = (far_m + near_m) / (far_m - near_m)
    b = -2.0 * far_m * near_m / (far_m - near_m)
    return np.array(
        [[2 * f / camera.width, 0, 0, 0], [0, 2 * f / camera.height, 0, 0], [0, 0, a, b], [0, 0, 1, 0]], dtype=np.float64
    )


def pose_matrix(pos: Sequence[float], quat: Sequence[float]) -> np.ndarray:
    m = np.eye(4)
    m[:3, :3] = quat_to_mat(quat)
    m[:3, 3] = pos
    return m


def view_matrix(camera_to_world: np.ndarray) -> np.ndarray:
    """World -> optical frame."""
    r, t = camera_to_world[:3, :3], camera_to_world[:3, 3]
    v = np.eye(4)
    v[:3, :3] = r.T
    v[:3, 3] = -r.T @ t
    return v


def look_at_quat(eye: Sequence[float], target: Sequence[float], up: Sequence[float] = (0.0, 0.0, 1.0)) -> tuple[float, float, float, float]:
    """Optical-frame orientation at ``eye`` looking at ``target`` with ``up`` up in the image."""
    z = np.asarray(target, float) - np.asarray(eye, float)
    if np.linalg.norm(z) < 1e-12:
        raise ValueError("look_at: eye and target coincide")
    z /= np.linalg.norm(z)
    x = np.cross(z, np.asarray(up, float))
    if np.linalg.norm(x) < 1e-9:  # looking straight along up: any right vector will do
        x = np.cross(z, [1.0, 0.0, 0.0] if abs(z[0]) < 0.9 else [0.0, 1.0, 0.0])
    x /= np.linalg.norm(x)
    y = np.cross(z, x)
    return mat_to_quat(np.stack([x, y, z], 1))


def look_at_camera(
    name: str,
    eye: Sequence[float],
    target: Sequence[float],
    *,
    body: str | None = None,
    up: Sequence[float] = (0.0, 0.0, 1.0),
    width: int = 128,
    height: int = 128,
    fovy_deg: float = 60.0,
) -> Camera:
    """A camera at ``eye`` looking at ``target``, both in the world (or in ``body``'s frame,
    for a camera that rides on the body, such as a chase camera behind a car)."""
    return Camera(
        name,
        body=body,
        pos=tuple(float(v) for v in eye),  # type: ignore[arg-type]
        quat=look_at_quat(eye, target, up),
        width=width,
        height=height,
        fovy_deg=fovy_deg,
    )


# -- the scene's default pose and extent -------------------------------------------------


def scene_poses(scene: Scene) -> tuple[tuple[str, ...], np.ndarray, np.ndarray]:
    """Body names (scene order), world positions (N, 3) and quaternions (N, 4) of the scene
    as built: body offsets composed down each tree, with joints at their ``initial`` values."""
    names, pos, quat = [], [], []
    world: dict[str, np.ndarray] = {}
    for body, parent, _ in scene.walk():
        local = pose_matrix(body.pos, body.quat)
        joint = body.joint
        if joint is not None and joint.type == "hinge" and joint.initial:
            local[:3, :3] = local[:3, :3] @ quat_to_mat(quat_from_axis_angle(joint.axis, joint.initial))
        elif joint is not None and joint.type == "slide" and joint.initial:
            axis = np.asarray(joint.axis, float) / np.linalg.norm(joint.axis)
            local[:3, 3] += local[:3, :3] @ axis * joint.initial
        m = local if parent is None else world[parent.name] @ local
        world[body.name] = m
        names.append(body.name)
        pos.append(m[:3, 3])
        quat.append(mat_to_quat(m[:3, :3]))
    return tuple(names), np.asarray(pos).reshape(-1, 3), np.asarray(quat).reshape(-1, 4)


def body_local_bounds(body: Body, scene: Scene) -> np.ndarray | None:
    """(8, 3) corners of the box bounding the body's visible finite geoms, in its frame."""
    from simsuite.render import shapes

    corners = []
    for geom in body.geoms:
        if not geom.visible or (geom.type == "plane" and min(geom.size or (0.0,)) <= 0):
            continue
        if geom.type == "mesh":
            pts = shapes.mesh_file(str(scene.resolve_mesh(geom.mesh).resolve()), tuple(float(s) for s in geom.mesh_scale)).positions
            lo, hi = pts.min(0), pts.max(0)
        else:
            half = {
                "box": lambda s: s,
                "sphere": lambda s: (s[0],) * 3,
                "capsule": lambda s: (s[0], s[0], s[0] + s[1]),
                "cylinder": lambda s: (s[0], s[0], s[1]),
                "plane": lambda s: (s[0], s[1], 0.0),
            }[geom.type](geom.size)
            lo, hi = -np.asarray(half, float), np.asarray(half, float)
        box = np.array([[x, y, z] for x in (lo[0], hi[0]) for y in (lo[1], hi[1]) for z in (lo[2], hi[2])])
        corners.append(box @ quat_to_mat(geom.quat).T + np.asarray(geom.pos))
    if not corners:
        return None
    pts = np.concatenate(corners)
    lo, hi = pts.min(0), pts.max(0)
    return np.array([[x, y, z] for x in (lo[0], hi[0]) for y in (lo[1], hi[1]) for z in (lo[2], hi[2])])


def scene_bounds(
    scene: Scene,
    body_names: Sequence[str] | None = None,
    positions: np.ndarray | None = None,
    quats: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray] | None:
    """World axis-aligned bounds (lo, hi) of the visible finite geometry at the given poses
    (default: :func:`scene_poses`); infinite planes are left out. None for an empty scene."""
    if positions is None or quats is None or body_names is None:
        body_names, positions, quats = scene_poses(scene)
    row = {n: i for i, n in enumerate(body_names)}
    pts = []
    for body, _, _ in scene.walk():
        local = body_local_bounds(body, scene)
        if local is None or body.name not in row:
            continue
        i = row[body.name]
        pts.append(local @ quat_to_mat(quats[i]).T + positions[i])
    if not pts:
        return None
    allp = np.concatenate(pts)
    return allp.min(0), allp.max(0)


def overview_camera(
    scene: Scene,
    *,
    name: str = "overview",
    width: int = 640,
    height: int = 480,
    fovy_deg: float = 45.0,
    azimuth_deg: float = -45.0,
    elevation_deg: float = 30.0,
    body_names: Sequence[str] | None = None,
    positions: np.ndarray | None = None,
    quats: np.ndarray | None = None,
) -> Camera:
    """A fixed camera that frames the scene's bounding box (for ``render_mode="rgb_array"``).

    It sits on a sphere around the box centre, ``azimuth_deg`` from +x about +z and
    ``elevation_deg`` above the horizon, far enough that the box's bounding sphere fills
    the narrower field of view. Pass the current body poses (``backend.body_names``,
    ``*backend.body_poses()``) to frame the scene as it is rather than as built.
    """
    bounds = scene_bounds(scene, body_names, positions, quats)
    if bounds is None:
        centre, radius = np.zeros(3), 1.0
    else:
        centre = (bounds[0] + bounds[1]) / 2
        radius = max(float(np.linalg.norm(bounds[1] - bounds[0])) / 2, 0.05)
    fovy = math.radians(fovy_deg)
    fovx = 2 * math.atan(math.tan(fovy / 2) * width / height)
    dist = radius / math.sin(min(fovy, fovx) / 2) * 1.02
    az, el = math.radians(azimuth_deg), math.radians(elevation_deg)
    eye = centre + dist * np.array([math.cos(el) * math.cos(az), math.cos(el) * math.sin(az), math.sin(el)])
    return look_at_camera(name, eye, centre, width=width, height=height, fovy_deg=fovy_deg)


def chase_camera(
    scene: Scene,
    body: str,
    *,
    name: str = "chase",
    width: int = 640,
    height: int = 480,
    fovy_deg: float = 60.0,
) -> Camera:
    """A camera riding on ``body``, behind and above it, looking ahead along its +x
    (REP-103 forward): for vehicles and robots in worlds too large for an overview."""
    local = body_local_bounds(scene.body(body), scene)
    size = float(np.linalg.norm(local[-1] - local[0])) / 2 if local is not None else 0.5
    size = max(size, 0.3)
    return look_at_camera(name, (-3.0 * size, 0.0, 1.5 * size), (2.0 * size, 0.0, 0.0), body=body, width=width, height=height, fovy_deg=fovy_deg)


def camera_spaces(camera: Camera) -> dict[str, object]:
    """gymnasium Boxes for a camera's ``rgb``, ``depth`` and ``seg`` observations, known
    before any world is built (a SimEnv declares its observation space in ``__init__``)."""
    import gymnasium

    hw = (camera.height, camera.width)
    return {
        "rgb": gymnasium.spaces.Box(0, 255, hw + (3,), np.uint8),
        "depth": gymnasium.spaces.Box(0.0, np.inf, hw, np.float32),
        "seg": gymnasium.spaces.Box(0, np.iinfo(np.int32).max, hw, np.int32),
    }
