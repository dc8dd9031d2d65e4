"""The headless renderer: exact depth and labels, backend parity, resources, looks.

Every scene here has an analytic answer: a plane at a known distance, a sphere's nearest
point, a box's projected outline. Cameras follow the ROS optical convention (+z forward,
+x right, +y down) and K from :func:`simsuite.render.intrinsics`.
"""

from __future__ import annotations

import math
import os
import threading

import numpy as np
import pytest

from simsuite.backends import make_backend
from simsuite.render import Renderer, intrinsics, live_contexts, look_at_camera, overview_camera, scene_poses
from simsuite.render.camera import pose_matrix
from simsuite.render.context import RenderError, parse_choice
from simsuite.render.images import read_png, write_png
from simsuite.scene import Body, Camera, Geom, Joint, Light, Material, Scene
from simsuite.transforms import quat_from_axis_angle, quat_from_euler, quat_to_mat

DOWN = (0.0, 1.0, 0.0, 0.0)  # optical frame looking along world -z (x right = world x, y down = world -y)


def render_one(scene: Scene, camera: Camera, **options):
    with Renderer(scene, [camera], **options) as r:
        names, pos, quat = scene_poses(scene)
        return r.render(names, pos, quat)[camera.name], r


def rays(camera: Camera) -> np.ndarray:
    """Per-pixel optical-frame ray directions with z = 1, from K (pixel centres at integers)."""
    k = intrinsics(camera)
    v, u = np.mgrid[0 : camera.height, 0 : camera.width].astype(np.float64)
    return np.stack([(u - k[0, 2]) / k[0, 0], (v - k[1, 2]) / k[1, 1], np.ones_like(u)], -1)


# -- depth -----------------------------------------------------------------------------------


def test_plane_depth_is_exact_at_every_pixel():
    d = 1.2345
    scene = Scene()
    scene.add(Body("floor", geoms=[Geom("floor_plane", "plane", (0.0, 0.0))], semantic_class="floor"))
    cam = Camera("down", pos=(0.3, -0.2, d), quat=DOWN, width=96, height=64, fovy_deg=70.0)
    frame, _ = render_one(scene, cam)
    assert frame.depth.dtype == np.float32 and frame.depth.shape == (64, 96)
    assert np.abs(frame.depth - d).max() < 1e-3
    assert (frame.seg == 1).all()


def test_tilted_plane_depth_matches_ray_intersection():
    """A plane tilted 35° about the camera's x axis: depth(u, v) = c / (n · ray(u, v))."""
    tilt = math.radians(35.0)
    dist = 2.0
    scene = Scene()
    scene.add(Body("wall", pos=(0.0, 0.0, 0.0), geoms=[Geom("wall_plane", "plane", (50.0, 50.0))]))
    # camera at height `dist` above the wall plane's origin, looking down, then tilted
    q = quat_to_mat(DOWN) @ quat_to_mat(quat_from_axis_angle((1, 0, 0), tilt))
    from simsuite.transforms import mat_to_quat

    cam = Camera("tilted", pos=(0.0, 0.0, dist), quat=mat_to_quat(q), width=80, height=60, fovy_deg=50.0)
    frame, _ = render_one(scene, cam)
    # the world plane n · p = 0 (n = +z) in the optical frame: (R^T n) · p_c = -n · t
    n_c = q.T @ np.array([0.0, 0.0, 1.0])
    c = -dist
    expected = c / (rays(cam) @ n_c)
    assert np.isfinite(frame.depth).all()
    assert np.abs(frame.depth - expected).max() < 1e-3


def test_sphere_nearest_point_and_surface_depth():
    r, dist = 0.25, 1.5
    scene = Scene()
    scene.add(Body("ball", pos=(0.0, 0.0, 0.0), geoms=[Geom("ball_geom", "sphere", (r,))]))
    cam = Camera("c", pos=(0.0, 0.0, dist), quat=DOWN, width=128, height=128, fovy_deg=40.0)
    frame, _ = render_one(scene, cam)
    hit = frame.seg == 1
    assert abs(frame.depth[hit].min() - (dist - r)) < 1e-3
    assert np.isinf(frame.depth[~hit]).all()  # background depth is +inf
    # every sphere pixel against the analytic ray-sphere hit (tessellation sagitta bound)
    d = rays(cam)
    centre = np.array([0.0, 0.0, dist])  # sphere centre in the optical frame
    a = (d * d).sum(-1)
    b = -2 * d @ centre
    disc = b * b - 4 * a * (centre @ centre - r * r)
    inside = disc > 0.3 * disc.max()  # away from the silhouette
    t = (-b - np.sqrt(np.maximum(disc, 0))) / (2 * a)  # z of the hit, as rays have z = 1
    # a 40 x 20 tessellation: a quad's middle lies up to ~2 sagittas r(1 - cos(4.5°)) inside
    # the sphere, and seen obliquely that is longer along the ray: within 1 % of r
    assert inside.sum() > 1000 and hit[inside].all()
    assert np.abs(frame.depth[inside] - t[inside]).max() < 0.01 * r


# -- segmentation -------------------------------------------------------------------------------


def _convex_polygon_mask(points: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    from scipy.spatial import ConvexHull

    hull = points[ConvexHull(points).vertices]  # counter-clockwise in (u, v)
    v, u = np.mgrid[0 : shape[0], 0 : shape[1]].astype(np.float64)
    mask = np.ones(shape, bool)
    for p, q in zip(hull, np.roll(hull, -1, axis=0)):
        mask &= (q[0] - p[0]) * (v - p[1]) - (q[1] - p[1]) * (u - p[0]) >= 0
    return mask


def test_box_mask_matches_analytic_projection_and_ids_map_back():
    scene = Scene()
    scene.add(Body("floor", geoms=[Geom("floor_plane", "plane", (0.0, 0.0))], semantic_class="floor"))
    box_quat = quat_from_euler(0.3, -0.2, 0.7)
    half = np.array([0.15, 0.1, 0.08])
    scene.add(Body("crate", pos=(0.05, -0.03, 0.5), quat=box_quat, geoms=[Geom("crate_geom", "box", tuple(half))], semantic_class="container"))
    cam = look_at_camera("c", (0.9, -0.7, 1.3), (0.0, 0.0, 0.45), width=160, height=120, fovy_deg=45.0)
    frame, r = render_one(scene, cam)
    corners = np.array([[x, y, z] for x in (-1, 1) for y in (-1, 1) for z in (-1, 1)]) * half
    world = corners @ quat_to_mat(box_quat).T + np.array([0.05, -0.03, 0.5])
    cam_from_world = np.linalg.inv(pose_matrix(cam.pos, cam.quat))
    pc = world @ cam_from_world[:3, :3].T + cam_from_world[:3, 3]
    uv = (pc @ intrinsics(cam).T)[:, :2] / pc[:, 2:]
    analytic = _convex_polygon_mask(uv, frame.seg.shape)
    box_id = r.body_names.index("crate") + 1
    mask = frame.seg == box_id
    iou = (mask & analytic).sum() / (mask | analytic).sum()
    assert mask.sum() > 500 and iou >= 0.99, iou
    assert r.id_to_name[box_id] == "crate" and r.id_to_class[box_id] == "container"
    assert r.id_to_name[0] == "background" and r.id_to_class[1] == "floor"
    assert r.class_names[r.class_lut[box_id]] == "container"
    assert set(np.unique(frame.seg)) == {1, box_id}
    assert frame.seg.dtype == np.int32


def test_thin_layer_on_an_infinite_plane_wins_at_every_distance():
    """A 4 mm thick road on the ground, seen from a chase-camera height with a far plane
    kilometres away (as Drive's): the road's pixels are the road's, as with a small ground."""
    def scene(ground_half_m: float) -> Scene:
        s = Scene()
        s.add(Body("ground", geoms=[Geom("ground_plane", "plane", (ground_half_m, ground_half_m), rgba=(0.3, 0.6, 0.3, 1.0))]))
        s.add(Body("road", geoms=[Geom("road_tile", "box", (200.0, 3.5, 0.002), pos=(190.0, 0.0, 0.002), rgba=(0.3, 0.3, 0.3, 1.0), collide=False)]))
        return s

    cam = look_at_camera("chase", (-6.0, 0.0, 2.5), (20.0, 0.0, 0.0), width=160, height=120, fovy_deg=60.0)
    infinite, _ = render_one(scene(0.0), cam, far_m=2000.0)
    small, _ = render_one(scene(400.0), cam, far_m=2000.0)  # one 800 m quad: the reference
    road = small.seg == 2
    assert road.sum() > 2000
    assert ((infinite.seg == 2) == road).mean() > 0.999


def test_invisible_geoms_are_skipped_and_visual_only_geoms_drawn():
    scene = Scene()
    scene.add(
        Body(
            "thing",
            geoms=[
                Geom("collision_only", "box", (0.1, 0.1, 0.1), pos=(-0.3, 0.0, 0.0), visible=False),
                Geom("visual_only", "sphere", (0.1,), pos=(0.3, 0.0, 0.0), collide=False),
            ],
        )
    )
    cam = Camera("c", pos=(0.0, 0.0, 2.0), quat=DOWN, width=64, height=64, fovy_deg=40.0)
    frame, _ = render_one(scene, cam)
    k = intrinsics(cam)
    left, right = (int(round(k[0, 2] + k[0, 0] * x / 2.0)) for x in (-0.3, 0.3))
    row = int(round(k[1, 2]))
    assert frame.seg[row, right] == 1 and frame.seg[row, left] == 0


# -- both backends ------------------------------------------------------------------------------


def parity_scene() -> Scene:
    scene = Scene(name="parity")
    scene.add(Body("floor", geoms=[Geom("floor_plane", "plane", (0.0, 0.0), rgba=(0.5, 0.55, 0.5, 1.0))], semantic_class="floor"))
    scene.add(Body("cube", pos=(0.1, 0.0, 0.3), joint=Joint("cube_free", "free"), geoms=[Geom("cube_geom", "box", (0.05, 0.05, 0.05), rgba=(0.8, 0.2, 0.2, 1))]))
    scene.add(Body("ball", pos=(-0.2, 0.1, 0.3), joint=Joint("ball_free", "free"), geoms=[Geom("ball_geom", "sphere", (0.06,), rgba=(0.2, 0.3, 0.9, 1))]))
    arm = Body("base", pos=(0.0, -0.25, 0.1), geoms=[Geom("base_geom", "cylinder", (0.05, 0.1))], semantic_class="robot")
    link = arm.add(
        Body(
            "link",
            pos=(0.0, 0.0, 0.12),
            joint=Joint("shoulder", "hinge", axis=(1.0, 0.0, 0.0)),
            geoms=[Geom("link_geom", "capsule", (0.03, 0.12), pos=(0.0, 0.0, 0.15), rgba=(0.9, 0.8, 0.2, 1))],
            semantic_class="robot",
        )
    )
    assert link is not None
    scene.add(arm)
    return scene


def test_same_state_same_images_on_both_backends():
    scene = parity_scene()
    cam = look_at_camera("c", (0.8, -0.9, 0.8), (0.0, 0.0, 0.2), width=96, height=72)
    frames = {}
    with Renderer(scene, [cam]) as r:
        for name in ("mujoco", "pybullet"):
            backend = make_backend(name)
            backend.compile(scene)
            backend.set_body_pose("cube", (0.12, 0.02, 0.25), quat_from_euler(0.4, 0.2, 0.9))
            backend.set_body_pose("ball", (-0.2, 0.15, 0.06))
            backend.set_joint_position("shoulder", 0.7)
            frames[name] = r.render_from(backend)["c"]
            backend.close()
    a, b = frames["mujoco"], frames["pybullet"]
    assert len(np.unique(a.seg)) == 6  # background + 5 bodies
    np.testing.assert_array_equal(a.seg, b.seg)
    assert np.abs(a.rgb.astype(int) - b.rgb.astype(int)).max() <= 3
    finite = np.isfinite(a.depth)
    np.testing.assert_array_equal(finite, np.isfinite(b.depth))
    assert np.abs(a.depth[finite] - b.depth[finite]).max() < 1e-4


def test_poses_in_any_body_order():
    scene = parity_scene()
    cam = look_at_camera("c", (0.8, -0.9, 0.8), (0.0, 0.0, 0.2), width=48, height=48)
    names, pos, quat = scene_poses(scene)
    perm = np.arange(len(names))[::-1]
    with Renderer(scene, [cam]) as r:
        a = r.render(names, pos, quat)["c"]
        b = r.render(tuple(names[i] for i in perm), pos[perm], quat[perm])["c"]
        with pytest.raises(ValueError, match="lack bodies"):
            r.render(names[1:], pos[1:], quat[1:])
    np.testing.assert_array_equal(a.seg, b.seg)
    np.testing.assert_array_equal(a.rgb, b.rgb)


# -- cameras -------------------------------------------------------------------------------------


def test_intrinsics_and_mounted_camera():
    cam = Camera("c", width=640, height=480, fovy_deg=60.0)
    k = intrinsics(cam)
    f = 240 / math.tan(math.radians(30))
    np.testing.assert_allclose(k, [[f, 0, 319.5], [0, f, 239.5], [0, 0, 1]])
    # a camera riding on a body sees the same image wherever the body goes
    scene = Scene()
    scene.add(Body("floor", geoms=[Geom("floor_plane", "plane", (0.0, 0.0))], semantic_class="floor"))
    scene.add(Body("cart", pos=(0.0, 0.0, 0.5), joint=Joint("cart_free", "free"), geoms=[Geom("cart_geom", "box", (0.1, 0.1, 0.1))]))
    scene.add(Body("marker", pos=(0.4, 0.0, 0.1), geoms=[Geom("marker_geom", "sphere", (0.1,))]))
    cam = look_at_camera("onboard", (0.0, 0.0, 0.3), (0.4, 0.0, -0.4), body="cart", width=64, height=48)
    names, pos, quat = scene_poses(scene)
    with Renderer(scene, [cam]) as r:
        a = r.render(names, pos, quat)["onboard"]
        moved_pos, moved_quat = pos.copy(), quat.copy()
        i, j = names.index("cart"), names.index("marker")
        moved_pos[i] += (2.0, 1.0, 0.0)
        moved_pos[j] += (2.0, 1.0, 0.0)
        b = r.render(names, moved_pos, moved_quat)["onboard"]
    assert (a.seg == j + 1).sum() > 20
    np.testing.assert_array_equal(a.seg == j + 1, b.seg == j + 1)


def test_tiled_rendering_matches_single_renders():
    scene = parity_scene()
    cams = [
        look_at_camera("a", (0.8, -0.9, 0.8), (0.0, 0.0, 0.2), width=64, height=48),
        look_at_camera("b", (-0.7, 0.6, 0.5), (0.0, 0.0, 0.1), width=40, height=40),
        look_at_camera("c", (0.0, 0.0, 1.5), (0.0, 0.01, 0.0), width=32, height=56),
    ]
    names, pos, quat = scene_poses(scene)
    moved = pos.copy()
    moved[names.index("ball")] += (0.1, -0.1, 0.0)
    with Renderer(scene, cams) as r:
        single = [r.render(names, p, quat) for p in (pos, moved)]
        tiled = r.render_tiled(names, np.stack([pos, moved]), np.stack([quat, quat]))
    assert len(tiled.tiles) == 6
    for state in (0, 1):
        for cam in cams:
            t, s = tiled.frame(cam.name, state), single[state][cam.name]
            np.testing.assert_array_equal(t.seg, s.seg)
            np.testing.assert_array_equal(t.rgb, s.rgb)
            np.testing.assert_allclose(t.depth, s.depth, rtol=1e-5)  # window offsets move float rounding


def test_overview_camera_sees_every_body():
    scene = parity_scene()
    cam = overview_camera(scene, width=160, height=120)
    frame, r = render_one(scene, cam)
    assert set(range(1, r.ids)) <= set(np.unique(frame.seg).tolist())


# -- looks: textures, lights, shadows --------------------------------------------------------------


def textured_scene(tmp_path, texture: bool, lights=()):
    checker = np.kron((np.indices((8, 8)).sum(0) % 2)[:, :, None] * np.array([200, 200, 200]) + 30, np.ones((8, 8, 1))).astype(np.uint8)
    path = write_png(tmp_path / "checker.png", checker)
    assert (read_png(path)[:, :, :3] == checker).all()
    scene = Scene()
    scene.materials.append(Material("tiles", texture=str(path) if texture else None, texrepeat=(2.0, 2.0)))
    scene.add(Body("floor", geoms=[Geom("floor_plane", "plane", (1.0, 1.0), material="tiles")], semantic_class="floor"))
    scene.add(Body("post", pos=(0.0, 0.0, 0.2), geoms=[Geom("post_geom", "box", (0.1, 0.1, 0.2), rgba=(0.8, 0.8, 0.8, 1))]))
    scene.lights.extend(lights)
    return scene


def test_textures_and_lights_change_pixels(tmp_path):
    cam = look_at_camera("c", (0.0, -1.2, 1.6), (0.0, 0.0, 0.0), width=96, height=96)
    plain, _ = render_one(textured_scene(tmp_path, False), cam)
    tiled, _ = render_one(textured_scene(tmp_path, True), cam)
    floor = plain.seg == 1
    # the texture puts a checker pattern on the floor: two clusters of brightness
    lum = tiled.rgb.astype(float).mean(-1)[floor]
    assert lum.std() > 5 * plain.rgb.astype(float).mean(-1)[floor].std() + 10
    np.testing.assert_array_equal(plain.seg, tiled.seg)
    # a red point light next to the post tints it red
    red, _ = render_one(textured_scene(tmp_path, False, [Light("lamp", pos=(0.0, -0.5, 0.4), directional=False, diffuse=(1.0, 0.0, 0.0))]), cam)
    post = plain.seg == 2
    r_minus_g = lambda f: (f.rgb[post][:, 0].astype(float) - f.rgb[post][:, 1]).mean()  # noqa: E731
    assert r_minus_g(red) > r_minus_g(plain) + 30
    # a light from below leaves the floor's top side dark (ambient and headlight only)
    below, _ = render_one(textured_scene(tmp_path, False, [Light("under", direction=(0.0, 0.0, 1.0))]), cam)
    assert below.rgb[floor].mean() < plain.rgb[floor].mean() - 20
    # shadows: the post's shadow darkens part of the floor
    sun = [Light("sun", direction=(0.6, 0.3, -1.0), cast_shadow=True)]
    lit, _ = render_one(textured_scene(tmp_path, False, sun), cam)
    shaded, _ = render_one(textured_scene(tmp_path, False, sun), cam, shadows=True)
    darker = (lit.rgb.astype(int).sum(-1) - shaded.rgb.astype(int).sum(-1)) > 60
    assert (darker & floor).sum() > 50
    np.testing.assert_array_equal(lit.seg, shaded.seg)


# -- resources ------------------------------------------------------------------------------------


def _rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1e6


def test_200_create_render_close_cycles_leak_nothing():
    scene = parity_scene()
    cam = look_at_camera("c", (0.8, -0.9, 0.8), (0.0, 0.0, 0.2), width=64, height=64)
    names, pos, quat = scene_poses(scene)
    base_contexts = live_contexts()

    def cycle():
        r = Renderer(scene, [cam])
        frame = r.render(names, pos, quat)["c"]
        r.close()
        r.close()  # idempotent
        return frame

    for _ in range(10):  # warm up caches and allocator pools
        cycle()
    fds, threads, rss = len(os.listdir("/proc/self/fd")), threading.active_count(), _rss_mb()
    tasks = len(os.listdir("/proc/self/task"))
    for _ in range(200):
        frame = cycle()
    assert (frame.seg > 0).any()
    assert live_contexts() == base_contexts
    assert len(os.listdir("/proc/self/fd")) <= fds
    assert threading.active_count() == threads and len(os.listdir("/proc/self/task")) <= tasks
    assert _rss_mb() - rss < 50.0


def test_renderers_coexist_and_survive_foreign_contexts():
    """Two renderers, interleaved, with another library's context made current between them."""
    import moderngl

    a_scene = parity_scene()
    cam = look_at_camera("c", (0.8, -0.9, 0.8), (0.0, 0.0, 0.2), width=48, height=48)
    names, pos, quat = scene_poses(a_scene)
    with Renderer(a_scene, [cam]) as a:
        ref = a.render(names, pos, quat)["c"]
        b_scene = Scene()
        b_scene.add(Body("only", geoms=[Geom("only_geom", "sphere", (0.2,))]))
        with Renderer(b_scene, [cam]) as b:
            other = b.render(*scene_poses(b_scene))["c"]
            foreign = moderngl.create_context(standalone=True, backend="egl")  # now current
            again = a.render(names, pos, quat)["c"]
            other_again = b.render(*scene_poses(b_scene))["c"]
            foreign.release()
        after = a.render(names, pos, quat)["c"]
    np.testing.assert_array_equal(ref.seg, again.seg)
    np.testing.assert_array_equal(ref.seg, after.seg)
    np.testing.assert_array_equal(other.seg, other_again.seg)
    with pytest.raises(RenderError, match="closed"):
        a.render(names, pos, quat)


def test_level_of_detail_stays_within_its_pixel_error(tmp_path, monkeypatch):
    """lod = N px: coarser triangles, but every label within N px of where full detail puts
    it, and depth exact to the triangles drawn (the ball's facets lie between the sphere
    and N px inside it)."""
    import trimesh

    from simsuite.render import shapes

    monkeypatch.setenv("SIMSUITE_CACHE_DIR", str(tmp_path / "cache"))
    shapes.mesh_lods.cache_clear()
    path = tmp_path / "blob.obj"
    trimesh.creation.icosphere(subdivisions=5, radius=0.2).export(path)  # 20k triangles
    scene = Scene()
    scene.add(Body("ball", pos=(0.5, 0.0, 0.0), geoms=[Geom("ball_geom", "sphere", (0.2,))]))
    scene.add(Body("blob", pos=(-0.5, 0.0, 0.0), geoms=[Geom("blob_geom", "mesh", mesh=str(path))]))
    names, pos, quat = scene_poses(scene)
    for size, lod_px in ((64, 1.0), (256, 1.0), (256, 3.0)):
        cam = Camera("c", pos=(0.0, 0.0, 3.0), quat=DOWN, width=size, height=size, fovy_deg=50.0)
        with Renderer(scene, [cam]) as full, Renderer(scene, [cam], lod=lod_px) as lod:
            a, b = full.render(names, pos, quat)["c"], lod.render(names, pos, quat)["c"]
            assert lod.drawn_triangles < full.drawn_triangles / 4
        for f in (a, b):  # labels and depth from the same triangles
            np.testing.assert_array_equal(f.seg > 0, np.isfinite(f.depth))
        # a changed label lies within lod px of a label edge of the full-detail image
        changed = np.argwhere(a.seg != b.seg)
        edges = np.argwhere((a.seg != np.roll(a.seg, 1, 0)) | (a.seg != np.roll(a.seg, 1, 1)))
        if len(changed):
            gap = np.abs(changed[:, None, :] - edges[None, :, :]).max(2).min(1)
            assert gap.max() <= math.ceil(lod_px) + 1
        # the ball's pixels: points between the sphere and lod px (at its nearest depth) inside it
        focal = intrinsics(cam)[0, 0]
        allowed_m = lod_px * (3.0 - 0.2) / focal
        facets = 0.2 * (1 - math.cos(math.pi / 40) ** 2)  # full detail: 40 x 20 segments
        for f, slack in ((a, facets), (b, facets + allowed_m)):
            mask = f.seg == 1
            pts = rays(cam)[mask] * f.depth[mask][:, None]
            r = np.linalg.norm(pts - [0.5, 0.0, 3.0], axis=1)
            assert r.max() < 0.2 + 1e-4 and r.min() > 0.2 - slack - 1e-4
    # levels are measured once and kept on disk
    levels = shapes.mesh_lods(str(path), (1.0, 1.0, 1.0))
    assert [lv.error_m for lv in levels] == sorted(lv.error_m for lv in levels) and levels[0].error_m == 0.0
    assert len(list((tmp_path / "cache" / "lod").glob("*.npz"))) == 1
    shapes.mesh_lods.cache_clear()
    again = shapes.mesh_lods(str(path), (1.0, 1.0, 1.0))
    assert [lv.error_m for lv in again] == [lv.error_m for lv in levels]
    np.testing.assert_array_equal(again[-1].mesh.indices, levels[-1].mesh.indices)
    with pytest.raises(ValueError, match="lod"):
        Renderer(scene, [cam], lod=-1.0)


def test_lod_levels_are_the_pareto_front_of_free_and_border_keeping_chains(tmp_path, monkeypatch):
    """A mesh with an open border gets levels from both simplification chains, and keeps
    only those no other level beats: fewer triangles and more error at every step, and
    never more triangles within an error budget than the free chain alone would draw."""
    import trimesh

    from simsuite.render import shapes

    monkeypatch.setenv("SIMSUITE_CACHE_DIR", str(tmp_path / "cache"))
    shapes.mesh_lods.cache_clear()
    ball = trimesh.creation.icosphere(subdivisions=4, radius=0.1)
    bowl = trimesh.Trimesh(ball.vertices, ball.faces[ball.triangles_center[:, 2] < 0.02])  # open at the rim
    path = tmp_path / "bowl.obj"
    bowl.export(path)
    full = shapes.mesh_file(str(path), (1.0, 1.0, 1.0))
    closed = shapes.Mesh(ball.vertices.astype(np.float32), ball.vertex_normals.astype(np.float32), np.zeros((len(ball.vertices), 2), np.float32), ball.faces.astype(np.uint32))
    assert shapes.has_open_border(full) and not shapes.has_open_border(closed)
    levels = shapes.mesh_lods(str(path), (1.0, 1.0, 1.0))
    counts, errors = [len(lv.mesh.indices) for lv in levels], [lv.error_m for lv in levels]
    assert len(levels) > 3 and counts == sorted(counts, reverse=True) and len(set(counts)) == len(counts)
    assert errors[0] == 0.0 and all(a < b for a, b in zip(errors, errors[1:]))
    index = shapes.SurfaceIndex(full, 0.002)
    free = [(len(m.indices), shapes.geometric_error(m, full, index)) for m in shapes._chain(full, 1.5, 32, False)]
    for budget_m in (0.001, 0.003, 0.01):
        ours = min(c for c, e in zip(counts, errors) if e <= budget_m)
        assert ours <= min([c for c, e in free if e <= budget_m] + [counts[0]])
    # the front itself: dominated candidates dropped, the full level kept first
    fake = [shapes.Level(shapes.Mesh(full.positions, full.normals, full.uvs, full.indices[:n]), e) for n, e in ((900, 0.002), (600, 0.001), (300, 0.004), (300, 0.003))]
    front = shapes.pareto_levels(full, fake)
    assert [(len(lv.mesh.indices), lv.error_m) for lv in front] == [(len(full.indices), 0.0), (600, 0.001), (300, 0.003)]


# -- context choice ---------------------------------------------------------------------------------


def test_context_choice_and_errors(monkeypatch):
    monkeypatch.setenv("SIMSUITE_GL", "egl:cpu")
    assert parse_choice() == ("egl", "cpu")
    assert parse_choice("cuda:1") == ("egl", "cuda:1")  # the argument wins over the variable
    monkeypatch.setenv("SIMSUITE_GL", "glfw")
    with pytest.raises(RenderError, match="SIMSUITE_GL"):
        parse_choice()
    monkeypatch.setenv("SIMSUITE_GL", "egl")
    with pytest.raises(RenderError, match="device must be"):
        parse_choice("tpu")
    from simsuite.render import context

    devices = context.egl_devices()
    if not any(not d.software for d in devices):
        with pytest.raises(RenderError, match="no hardware EGL device"):
            context.candidates("gpu", devices)
    with pytest.raises(RenderError, match="apt-get install libegl1"):
        context.candidates("auto", [])

    def missing():
        raise RenderError("no EGL library found: " + context.INSTALL_HINT)

    monkeypatch.setattr(context, "egl_devices", missing)
    with pytest.raises(RenderError, match="libegl-mesa0 libgl1-mesa-dri"):
        Renderer(parity_scene())


# -- the recording and example-frame tools -------------------------------------------------------------


def test_example_frames_and_record(tmp_path):
    from simsuite.render.record import example_frames, record

    paths = example_frames("SimSuite/Pendulum-v0", tmp_path, width=64, height=48)
    rgb = read_png(paths["rgb"])
    assert rgb.shape == (48, 64, 4) and rgb[:, :, :3].std() > 5
    assert read_png(paths["all"]).shape == (48, 192, 4)
    pytest.importorskip("av")
    out = record("SimSuite/Pendulum-v0", tmp_path / "pendulum.mp4", policy="random", max_steps=10, width=64, height=48)
    import av

    with av.open(str(out)) as video:
        frames = [f.to_ndarray(format="rgb24") for f in video.decode(video=0)]
    assert len(frames) == 11 and frames[0].shape == (48, 192, 3)


def test_camera_view_follows_the_backend_world():
    """CameraView builds its renderer from backend.scene and rebuilds it for a new world."""
    from simsuite.render import CameraView, camera_spaces

    fixed = look_at_camera("fixed", (0.8, -0.9, 0.8), (0.0, 0.0, 0.2), width=40, height=30)
    view = CameraView(["overview", fixed], width=64, height=48)
    backend = make_backend("mujoco")
    try:
        backend.compile(parity_scene())
        frames = view.frames(backend)
        assert set(frames) == {"overview", "fixed"} and frames["overview"].rgb.shape == (48, 64, 3)
        first = view.renderer
        assert view.frame(backend).seg.shape == (48, 64) and view.renderer is first
        other = Scene()
        other.add(Body("lonely", pos=(0.0, 0.0, 0.2), geoms=[Geom("lonely_geom", "box", (0.1, 0.1, 0.1))]))
        backend.compile(other)  # a reset that builds a new world
        frame = view.frame(backend)
        assert view.renderer is not first and set(np.unique(frame.seg)) == {0, 1}
        spaces = camera_spaces(fixed)
        assert spaces["rgb"].shape == (30, 40, 3) and spaces["depth"].contains(frames["fixed"].depth)
        assert spaces["seg"].contains(frames["fixed"].seg) and spaces["rgb"].contains(frames["fixed"].rgb)
    finally:
        view.close()
        backend.close()
