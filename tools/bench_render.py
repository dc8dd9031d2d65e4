"""Camera throughput: SimSuite's renderer against MuJoCo's and PyBullet's, same run, same scene.

The scene is a Franka Panda (pybullet_data's ``panda.urdf`` through ``load_urdf``: its
visual meshes, about 100k triangles) on a table with a few objects, posed by the MuJoCo
backend in Franka's ready posture. Every renderer draws the same visible geometry
(the scene's ``visible`` geoms, with the same meshes) from the same camera, and produces
the same three outputs per frame:

- ``simsuite``: :class:`simsuite.render.Renderer`, RGB + metric depth + segmentation from
  one pass (``Renderer.render``); ``simsuite tiled`` renders 16 cameras into one tiled
  framebuffer per call (``render_tiled``) and counts frames, not calls.
- ``mujoco``: ``mujoco.Renderer`` on a model of the same geometry (each body a mocap body
  at its pose), at its fastest settings (shadows, reflections off, ``offsamples = 0``):
  ``update_scene`` once, then three passes (RGB, depth, segmentation).
- ``tinyrenderer``: PyBullet's ``getCameraImage`` with ``ER_TINY_RENDERER`` on the same
  visual shapes (one call gives all three; depth converted to metres as ours is).

Ours runs twice: at full detail (``lod=None``: exact meshes, the Renderer's default) and
at the level of detail that camera observations and ``render_mode`` use by default
(``lod=1.0``: at most one pixel of screen-space geometric error, see ``Renderer``),
against the same full-detail baselines; ``seg changed`` is the share of segmentation
pixels that differ from full detail. Ratios are given per wall-clock second and per
CPU-second of the process (steadier on a shared machine).

    python tools/bench_render.py [--sizes 84x84 128x128 640x480] [--frames 40]
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("MUJOCO_GL", "egl")  # before mujoco is imported: headless, as ours

import numpy as np  # noqa: E402
import pybullet_data  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from benchmark import cpu_rate, rate, report  # noqa: E402

from simsuite.backends import make_backend  # noqa: E402
from simsuite.render import Renderer  # noqa: E402
from simsuite.render.camera import look_at_camera, pose_matrix  # noqa: E402
from simsuite.render.view import DEFAULT_LOD_PX  # noqa: E402
from simsuite.scene import Body, Camera, Geom, Joint, Scene  # noqa: E402
from simsuite.transforms import quat_to_mat, wxyz_to_xyzw  # noqa: E402
from simsuite.urdf import load_urdf  # noqa: E402

PANDA = Path(pybullet_data.getDataPath()) / "franka_panda" / "panda.urdf"
READY_Q = (0.0, -0.785, 0.0, -2.356, 0.0, 1.571, 0.785)
TABLE_H = 0.4
NEAR, FAR = 0.01, 100.0


def panda_scene(geometry: str = "visual") -> Scene:
    """Panda on a table with five objects. ``geometry="collision"`` draws the robot's
    collision meshes (3.4k triangles, what MuJoCo draws of a URDF by default) instead
    of its visual meshes (106k triangles)."""
    scene = Scene(name="panda_table", timestep_s=0.002)
    scene.add(Body("floor", geoms=[Geom("floor_plane", "plane", (0.0, 0.0), rgba=(0.45, 0.5, 0.45, 1.0))], semantic_class="floor"))
    scene.add(Body("table", pos=(0.3, 0.0, TABLE_H / 2), geoms=[Geom("table_top", "box", (0.6, 0.6, TABLE_H / 2), rgba=(0.55, 0.4, 0.3, 1.0))], semantic_class="table"))
    robot = load_urdf(PANDA, pos=(0.0, 0.0, TABLE_H))
    if geometry == "collision":
        for body in robot.root.walk():
            for geom in body.geoms:
                geom.visible = geom.collide
    scene.add(robot.root)
    objects = [
        ("box", (0.025, 0.025, 0.025), (0.8, 0.2, 0.2, 1.0)),
        ("sphere", (0.03,), (0.2, 0.4, 0.9, 1.0)),
        ("cylinder", (0.025, 0.04), (0.9, 0.8, 0.2, 1.0)),
        ("capsule", (0.02, 0.03), (0.3, 0.8, 0.3, 1.0)),
    ]
    for i, (kind, size, rgba) in enumerate(objects):
        half_h = {"box": size[-1], "sphere": size[0], "cylinder": size[-1], "capsule": size[0] + size[-1]}[kind]
        scene.add(
            Body(
                f"object_{i}",
                pos=(0.45 + 0.08 * (i % 2), -0.15 + 0.1 * i, TABLE_H + half_h),
                joint=Joint(f"object_{i}_free", "free"),
                geoms=[Geom(f"object_{i}_geom", kind, size, rgba=rgba)],
            )
        )
    mesh_urdf = Path(pybullet_data.getDataPath()) / "random_urdfs" / "000" / "000.urdf"
    if mesh_urdf.is_file():
        obj = load_urdf(mesh_urdf, name_prefix="mesh_", pos=(0.6, 0.2, TABLE_H + 0.05), fixed_base=False, semantic_class="object")
        scene.add(obj.root)
    return scene


def posed(scene: Scene) -> tuple[tuple[str, ...], np.ndarray, np.ndarray]:
    """Body names and poses from the MuJoCo backend, arm in the ready posture."""
    backend = make_backend("mujoco")
    backend.compile(scene)
    for i, q in enumerate(READY_Q):
        backend.set_joint_position(f"panda_joint{i + 1}", q)
    backend.step(1)
    names = backend.body_names
    pos, quat = backend.body_poses()
    pos, quat = pos.copy(), quat.copy()
    backend.close()
    return names, pos, quat


def camera(width: int, height: int, name: str = "cam") -> Camera:
    return look_at_camera(name, (1.45, -0.9, 1.25), (0.3, 0.0, 0.55), width=width, height=height, fovy_deg=50.0)


# -- the same geometry for the other renderers ----------------------------------------------


def _visible(scene: Scene):
    materials = {m.name: m for m in scene.materials}
    for body, _, _ in scene.walk():
        for geom in body.geoms:
            rgba = materials[geom.material].rgba if geom.material else geom.rgba
            if geom.visible and rgba[3] > 0:
                yield body, geom, rgba


def _triangles(scene: Scene, geom: Geom):
    from simsuite.render.shapes import mesh_file

    return mesh_file(str(scene.resolve_mesh(geom.mesh).resolve()), tuple(float(v) for v in geom.mesh_scale))


def mujoco_model(scene: Scene, names, pos, quat, cam: Camera):
    """Every body a mocap body at its pose, with the scene's visible geoms."""
    import mujoco

    spec = mujoco.MjSpec()
    spec.visual.quality.offsamples = 0
    spec.visual.map.znear = NEAR / 1.0  # relative to extent; set extent 1 below
    spec.visual.map.zfar = FAR
    spec.stat.extent = 1.0
    row = {n: i for i, n in enumerate(names)}
    meshes: dict[tuple, str] = {}
    for body, geom, rgba in _visible(scene):
        i = row[body.name]
        b = spec.worldbody.add_body(name=f"{body.name}__{geom.name}", mocap=True, pos=list(pos[i]), quat=list(quat[i]))
        g = b.add_geom(name=geom.name, pos=list(geom.pos), quat=list(geom.quat), rgba=list(rgba), contype=0, conaffinity=0)
        if geom.type == "mesh":
            path = str(scene.resolve_mesh(geom.mesh).resolve())
            key = (path, tuple(geom.mesh_scale))
            if key not in meshes:
                meshes[key] = f"mesh{len(meshes)}"
                m = _triangles(scene, geom)  # the very triangles our renderer draws
                spec.add_mesh(name=meshes[key], uservert=m.positions.ravel().tolist(), userface=m.indices.ravel().tolist())
            g.type = mujoco.mjtGeom.mjGEOM_MESH
            g.meshname = meshes[key]
        elif geom.type == "plane":
            g.type = mujoco.mjtGeom.mjGEOM_PLANE
            g.size = [geom.size[0] if geom.size[0] > 0 else FAR, geom.size[1] if geom.size[1] > 0 else FAR, 1.0]
        else:
            g.type = {"box": mujoco.mjtGeom.mjGEOM_BOX, "sphere": mujoco.mjtGeom.mjGEOM_SPHERE, "cylinder": mujoco.mjtGeom.mjGEOM_CYLINDER, "capsule": mujoco.mjtGeom.mjGEOM_CAPSULE}[geom.type]
            g.size = list(geom.size) + [0.0] * (3 - len(geom.size))
    spec.worldbody.add_light(pos=[0, 0, 10], dir=[-0.3, 0.25, -1.0], type=mujoco.mjtLightType.mjLIGHT_DIRECTIONAL, diffuse=[0.7, 0.7, 0.7], castshadow=0)
    # MuJoCo cameras look along -z with y up; ours along +z with y down: a half turn about x
    flip = np.diag([1.0, -1.0, -1.0])
    from simsuite.transforms import mat_to_quat

    spec.worldbody.add_camera(name="cam", pos=list(cam.pos), quat=list(mat_to_quat(quat_to_mat(cam.quat) @ flip)), fovy=cam.fovy_deg)
    model = spec.compile()
    data = mujoco.MjData(model)
    mujoco.mj_forward(model, data)
    return model, data


class MujocoThree:
    """mujoco.Renderer, fastest settings, three passes per frame."""

    def __init__(self, model, data, width: int, height: int):
        import mujoco

        self.mujoco, self.data = mujoco, data
        self.r = mujoco.Renderer(model, height, width)
        self.r.scene.flags[mujoco.mjtRndFlag.mjRND_SHADOW] = 0
        self.r.scene.flags[mujoco.mjtRndFlag.mjRND_REFLECTION] = 0

    def __call__(self):
        r = self.r
        r.update_scene(self.data, camera="cam")
        r.scene.flags[self.mujoco.mjtRndFlag.mjRND_SHADOW] = 0
        r.scene.flags[self.mujoco.mjtRndFlag.mjRND_REFLECTION] = 0
        rgb = r.render()
        r.enable_depth_rendering()
        depth = r.render()
        r.disable_depth_rendering()
        r.enable_segmentation_rendering()
        seg = r.render()
        r.disable_segmentation_rendering()
        return rgb, depth, seg

    def close(self):
        self.r.close()


class TinyRenderer:
    """PyBullet getCameraImage with ER_TINY_RENDERER: RGB, depth (to metres) and seg."""

    def __init__(self, scene: Scene, names, pos, quat, cam: Camera):
        import pybullet as pb

        self.pb = pb
        self.cid = pb.connect(pb.DIRECT)
        row = {n: i for i, n in enumerate(names)}
        for body, geom, rgba in _visible(scene):
            i = row[body.name]
            kw = dict(rgbaColor=list(rgba), visualFramePosition=list(geom.pos), visualFrameOrientation=wxyz_to_xyzw(geom.quat), physicsClientId=self.cid)
            if geom.type == "mesh":
                m = _triangles(scene, geom)
                vs = pb.createVisualShape(pb.GEOM_MESH, vertices=m.positions.tolist(), indices=m.indices.ravel().tolist(), normals=m.normals.tolist(), **kw)
            elif geom.type == "plane":
                hx = geom.size[0] if geom.size[0] > 0 else FAR
                hy = geom.size[1] if geom.size[1] > 0 else FAR
                kw["visualFramePosition"] = [geom.pos[0], geom.pos[1], geom.pos[2] - 0.0005]
                vs = pb.createVisualShape(pb.GEOM_BOX, halfExtents=[hx, hy, 0.0005], **kw)
            elif geom.type == "box":
                vs = pb.createVisualShape(pb.GEOM_BOX, halfExtents=list(geom.size), **kw)
            elif geom.type == "sphere":
                vs = pb.createVisualShape(pb.GEOM_SPHERE, radius=geom.size[0], **kw)
            elif geom.type == "cylinder":
                vs = pb.createVisualShape(pb.GEOM_CYLINDER, radius=geom.size[0], length=2 * geom.size[1], **kw)
            else:
                vs = pb.createVisualShape(pb.GEOM_CAPSULE, radius=geom.size[0], length=2 * geom.size[1], **kw)
            pb.createMultiBody(0.0, -1, vs, list(pos[i]), wxyz_to_xyzw(quat[i]), physicsClientId=self.cid)
        m = pose_matrix(cam.pos, cam.quat)
        eye, fwd, down = m[:3, 3], m[:3, 2], m[:3, 1]
        self.view = pb.computeViewMatrix(list(eye), list(eye + fwd), list(-down))
        self.proj = pb.computeProjectionMatrixFOV(cam.fovy_deg, cam.width / cam.height, NEAR, FAR)
        self.size = (cam.width, cam.height)

    def __call__(self):
        pb = self.pb
        w, h, rgba, depth_buf, seg = pb.getCameraImage(
            self.size[0], self.size[1], self.view, self.proj, renderer=pb.ER_TINY_RENDERER, physicsClientId=self.cid
        )
        rgb = np.asarray(rgba, np.uint8).reshape(h, w, 4)[:, :, :3]
        d = np.asarray(depth_buf, np.float32).reshape(h, w)
        depth = FAR * NEAR / (FAR - (FAR - NEAR) * d)
        return rgb, depth, np.asarray(seg, np.int32).reshape(h, w)

    def close(self):
        self.pb.disconnect(self.cid)


def agreement(ours: np.ndarray, theirs: np.ndarray) -> float:
    """IoU of the foreground masks (ids > 0 vs the other renderer's non-background)."""
    a, b = ours > 0, theirs
    return float((a & b).sum() / max((a | b).sum(), 1))


def run(scene: Scene, sizes, frames: int, tiles: int, lod: float) -> list[list[object]]:
    names, pos, quat = posed(scene)
    rows = []
    for width, height in sizes:
        cam = camera(width, height)
        ours = Renderer(scene, [cam], near_m=NEAR, far_m=FAR)
        ours_lod = Renderer(scene, [cam], near_m=NEAR, far_m=FAR, lod=lod)
        model, data = mujoco_model(scene, names, pos, quat, cam)
        mj = MujocoThree(model, data, width, height)
        tiny = TinyRenderer(scene, names, pos, quat, cam)
        f = ours.render(names, pos, quat)["cam"]
        f_lod = ours_lod.render(names, pos, quat)["cam"]
        lod_triangles = ours_lod.drawn_triangles
        seg_changed = float((f.seg != f_lod.seg).mean())
        _, mj_depth, mj_seg = mj()
        _, tiny_depth, tiny_seg = tiny()
        fg_mj = agreement(f.seg, mj_seg[:, :, 0] >= 0)
        fg_tiny = agreement(f.seg, tiny_seg >= 0)
        n = max(3, frames if width * height <= 128 * 128 else frames // 4)
        calls = {
            "simsuite": (lambda: ours.render(names, pos, quat), n),
            "simsuite_lod": (lambda: ours_lod.render(names, pos, quat), n),
            "mujoco": (mj, max(2, n // 4)),
            "tinyrenderer": (tiny, max(2, n // 4)),
        }
        fps = {k: rate(fn, k_n) for k, (fn, k_n) in calls.items()}
        cpu = {k: cpu_rate(fn, k_n) for k, (fn, k_n) in calls.items()}
        tiled = None
        if tiles > 1 and width * height <= 128 * 128:
            cams = [camera(width, height, f"cam{k}") for k in range(tiles)]
            batch = Renderer(scene, cams, near_m=NEAR, far_m=FAR, lod=lod)
            batch.render_tiled(names, pos, quat)
            tiled = tiles * rate(lambda: batch.render_tiled(names, pos, quat), max(2, n // tiles))
            batch.close()
        rows.append(
            [
                f"{width}x{height}",
                f"{ours.triangles}/{lod_triangles}",
                round(fps["simsuite"], 1),
                round(fps["simsuite_lod"], 1),
                round(tiled, 1) if tiled else "-",
                round(fps["mujoco"], 1),
                round(fps["tinyrenderer"], 1),
                round(fps["simsuite"] / fps["mujoco"], 2),
                round(fps["simsuite_lod"] / fps["mujoco"], 2),
                round(fps["simsuite"] / fps["tinyrenderer"], 2),
                round(fps["simsuite_lod"] / fps["tinyrenderer"], 2),
                round(cpu["simsuite"] / cpu["mujoco"], 2),
                round(cpu["simsuite_lod"] / cpu["mujoco"], 2),
                round(cpu["simsuite"] / cpu["tinyrenderer"], 2),
                round(cpu["simsuite_lod"] / cpu["tinyrenderer"], 2),
                f"{100 * seg_changed:.2f}%",
                f"{fg_mj:.3f}/{fg_tiny:.3f}",
            ]
        )
        print(" ", rows[-1], flush=True)
        tiny.close()
        mj.close()
        ours_lod.close()
        ours.close()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", nargs="+", default=["84x84", "128x128", "640x480"])
    parser.add_argument("--frames", type=int, default=40, help="frames per timing repeat at <= 128x128 (a quarter at larger sizes)")
    parser.add_argument("--tiles", type=int, default=16, help="cameras per render_tiled call (0: skip)")
    parser.add_argument("--geometry", choices=("visual", "collision"), default="visual", help="the Panda's visual (106k triangles) or collision meshes (3.4k)")
    parser.add_argument("--lod", type=float, default=DEFAULT_LOD_PX, help="the lod setting (pixels of screen-space error) of the 'lod' columns")
    args = parser.parse_args()
    sizes = [tuple(int(v) for v in s.split("x")) for s in args.sizes]
    t0 = time.perf_counter()
    scene = panda_scene(args.geometry)
    print(f"scene built in {time.perf_counter() - t0:.1f} s", flush=True)
    rows = run(scene, sizes, args.frames, args.tiles, args.lod)
    from simsuite.render.context import create_context, release_context

    ctx, info = create_context()
    release_context(ctx)
    header = [
        "size", "tris full/lod", "ours fps", "ours lod fps", "lod tiled fps", "mujoco fps", "tiny fps",
        "x mj", "x mj lod", "x tiny", "x tiny lod", "cpu x mj", "cpu x mj lod", "cpu x tiny", "cpu x tiny lod", "seg changed", "fg IoU mj/tiny",
    ]
    report(
        "render" if args.geometry == "visual" else f"render_{args.geometry}",
        header,
        rows,
        {
            "gl_renderer": info.gl_renderer,
            "gl_version": info.gl_version,
            "lod": args.lod,
            "geometry": args.geometry,
            "notes": "fps = wall-clock frames per second with RGB + metric depth + segmentation per frame; "
            "ours = Renderer at full detail (exact meshes); ours lod = Renderer(lod=...), lod in pixels of screen-space error "
            "(the camera observations' default); seg changed = share of seg pixels differing from full detail; "
            "mujoco = mujoco.Renderer, shadows/reflections off, offsamples=0, 3 passes; "
            "tiny = pybullet getCameraImage ER_TINY_RENDERER; lod tiled = render_tiled frames/s (16 cameras per call); "
            "x = ratio of wall-clock fps; cpu x = ratio of frames per CPU-second (process time, all threads); "
            "fg IoU = foreground agreement of our segmentation with each baseline's (same scene check)",
        },
    )


if __name__ == "__main__":
    main()
