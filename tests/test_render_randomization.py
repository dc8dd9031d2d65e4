"""Visual randomization in the renderer: every parameter changes the picture, never the labels.

Real EGL rendering (Mesa llvmpipe on CPU machines). Each visual parameter must change the
RGB image while segmentation and depth stay bit-identical (distractors aside, which carry
their own ids where they occlude); camera jitter must equal a renderer built with the moved
camera; the nominal values must reproduce the unrandomized image exactly.
"""

from __future__ import annotations

import math
import os

import numpy as np
import pytest

from simsuite.backends import make_backend
from simsuite.render import CameraView, Renderer, look_at_camera, scene_poses
from simsuite.render.appearance import AppearanceError, Appearance, SUGGESTED_RANGES, nominal_visual, visual_param_names
from simsuite.render.images import write_png
from simsuite.scene import Body, Geom, Joint, Light, Scene
from simsuite.transforms import quat_to_mat

W, H = 96, 72


def scene_() -> Scene:
    scene = Scene(name="looks")
    scene.add(Body("floor", geoms=[Geom("floor_plane", "plane", (0.0, 0.0), rgba=(0.5, 0.55, 0.5, 1.0))], semantic_class="floor"))
    scene.add(Body("cube", pos=(0.1, 0.0, 0.1), joint=Joint("cube_free", "free"), geoms=[Geom("cube_geom", "box", (0.1, 0.1, 0.1), rgba=(0.8, 0.2, 0.2, 1))]))
    scene.add(Body("ball", pos=(-0.25, 0.15, 0.08), joint=Joint("ball_free", "free"), geoms=[Geom("ball_geom", "sphere", (0.08,), rgba=(0.2, 0.3, 0.9, 1))]))
    two_tone = Body("post", pos=(0.0, -0.3, 0.15), semantic_class="robot")
    two_tone.geoms += [Geom("post_low", "box", (0.04, 0.04, 0.08), pos=(0, 0, -0.07), rgba=(0.9, 0.8, 0.2, 1)), Geom("post_high", "cylinder", (0.03, 0.07), pos=(0, 0, 0.08), rgba=(0.1, 0.1, 0.1, 1))]
    scene.add(two_tone)
    scene.lights.append(Light("sun", direction=(0.4, 0.3, -1.0)))
    return scene


CAM = look_at_camera("c", (0.7, -0.8, 0.7), (0.0, 0.0, 0.1), width=W, height=H)


@pytest.fixture(scope="module")
def renderer():
    scene = scene_()
    with Renderer(scene, [CAM]) as r:
        yield r


@pytest.fixture(scope="module")
def image(tmp_path_factory) -> str:
    rng = np.random.default_rng(1)
    img = np.kron(rng.integers(0, 256, (8, 8, 3)), np.ones((8, 8, 1))).astype(np.uint8)
    return str(write_png(tmp_path_factory.mktemp("tex") / "patches.png", img))


def draw(r: Renderer, values=None, **kwargs):
    if values is not None:
        r.set_appearance(values, **kwargs)
    return r.render(*scene_poses(r.scene))["c"]


def test_names_nominal_and_exact_reproduction(renderer):
    scene = renderer.scene
    names = visual_param_names(scene)
    nominal = nominal_visual(scene)
    assert list(nominal) == names == renderer.visual_param_names()
    for body in ("floor", "cube", "ball", "post"):
        assert {f"{body}.color_r", f"{body}.texture", f"{body}.texture_scale_m", f"{body}.color2_b"} <= set(names)
    assert {"light.azimuth_rad", "light.elevation_rad", "light.intensity", "light.color_g", "camera.dx_m", "camera.dfov_deg", "distractors.count", "distractors.seed"} <= set(names)
    assert nominal["cube.color_r"] == 0.8 and nominal["cube.texture"] == "none" and nominal["distractors.count"] == 0
    az, el = nominal["light.azimuth_rad"], nominal["light.elevation_rad"]
    np.testing.assert_allclose(-np.array([math.cos(el) * math.cos(az), math.cos(el) * math.sin(az), math.sin(el)]), np.array([0.4, 0.3, -1.0]) / np.linalg.norm([0.4, 0.3, -1.0]))
    with Renderer(scene_(), [CAM]) as plain:
        ref = draw(plain)
    for values in (nominal, {}):
        got = draw(renderer, values)
        np.testing.assert_array_equal(got.rgb, ref.rgb)
        np.testing.assert_array_equal(got.seg, ref.seg)
        np.testing.assert_array_equal(got.depth, ref.depth)
    # after a fully random look, the nominal values bring the exact image back
    rng = np.random.default_rng(0)
    wild = {n: (float(rng.uniform(0.1, 0.9)) if "color" in n else v) for n, v in nominal.items()}
    wild.update({"cube.texture": "noise", "floor.texture": "checker", "light.azimuth_rad": 2.0, "camera.dx_m": 0.03, "distractors.count": 5})
    assert not np.array_equal(draw(renderer, wild).rgb, ref.rgb)
    np.testing.assert_array_equal(draw(renderer, nominal).rgb, ref.rgb)
    assert all(isinstance(v, tuple) for v in SUGGESTED_RANGES.values())


def _changes(image: str) -> list[tuple[str, dict, str]]:
    """(label, values, body whose pixels must change or "all")."""
    return [
        ("cube colour", {"cube.color_r": 0.1, "cube.color_g": 0.9, "cube.color_b": 0.3}, "cube"),
        ("cube colour red only", {"cube.color_r": 0.3}, "cube"),
        ("post override keeps its shape", {"post.color_b": 1.0}, "post"),
        ("floor checker", {"floor.texture": "checker", "floor.texture_scale_m": 0.1, "floor.color2_r": 0.0}, "floor"),
        ("floor checker scale", {"floor.texture": "checker", "floor.texture_scale_m": 0.03, "floor.color2_r": 0.0}, "floor"),
        ("cube noise", {"cube.texture": "noise", "cube.texture_scale_m": 0.02, "cube.color2_g": 1.0}, "cube"),
        ("ball gradient", {"ball.texture": "gradient", "ball.texture_scale_m": 0.05, "ball.color2_r": 1.0}, "ball"),
        ("floor image", {"floor.texture": f"image:{image}", "floor.texture_scale_m": 0.2, "floor.color_r": 1.0, "floor.color_g": 1.0, "floor.color_b": 1.0}, "floor"),
        ("light azimuth", {"light.azimuth_rad": 0.6}, "cube"),
        ("light elevation", {"light.elevation_rad": 0.2}, "floor"),
        ("light intensity", {"light.intensity": 0.3}, "floor"),
        ("light colour", {"light.color_r": 0.2}, "floor"),
        ("ambient", {"light.ambient": 2.0}, "floor"),
    ]


def test_each_visual_parameter_changes_rgb_and_never_labels(renderer, image):
    ref = draw(renderer, {})
    ids = {n: renderer.body_names.index(n) + 1 for n in renderer.body_names}
    seen = []
    for label, values, where in _changes(image):
        got = draw(renderer, values)
        np.testing.assert_array_equal(got.seg, ref.seg, err_msg=label)
        np.testing.assert_array_equal(got.depth, ref.depth, err_msg=label)
        mask = ref.seg == ids[where]
        diff = np.abs(got.rgb.astype(int) - ref.rgb.astype(int)).sum(-1)
        assert mask.sum() > 30 and diff[mask].mean() > 8, (label, diff[mask].mean())
        seen.append(got.rgb)
    # every change gives its own picture (a texture scale, a light angle...)
    for i in range(len(seen)):
        for j in range(i):
            assert not np.array_equal(seen[i], seen[j]), (_changes(image)[i][0], _changes(image)[j][0])
    # a pattern is a pattern: the checker splits the floor into two colour populations
    floor = ref.seg == ids["floor"]
    checker = draw(renderer, {"floor.texture": "checker", "floor.texture_scale_m": 0.1, "floor.color_g": 1.0, "floor.color2_g": 0.0})
    green = checker.rgb[floor][:, 1].astype(int)
    assert (green > 120).mean() > 0.2 and (green < 60).mean() > 0.2
    # a colour override covers every geom of a two-tone body
    post = draw(renderer, {"post.color_r": 0.0, "post.color_g": 1.0, "post.color_b": 0.0}).rgb[ref.seg == ids["post"]].astype(int)
    assert (post[:, 1] > post[:, 0] + 40).all()


def test_distractors_own_ids_and_only_occlude(renderer):
    ref = draw(renderer, {})
    base = {"distractors.count": 8, "distractors.seed": 7, "distractors.size_m": 0.06}
    a = draw(renderer, base)
    ids = renderer.distractor_ids
    assert len(ids) == 8 and ids[0] == len(renderer.body_names) + 1
    shown = set(np.unique(a.seg).tolist()) & set(ids)
    assert len(shown) >= 3
    for i in shown:
        assert renderer.id_to_class[i] == "distractor" and renderer.class_names[renderer.class_lut[i]] == "distractor"
        assert renderer.id_to_name[i].startswith("distractor_")
    distractor = np.isin(a.seg, ids)
    np.testing.assert_array_equal(a.seg[~distractor], ref.seg[~distractor])
    np.testing.assert_array_equal(a.depth[~distractor], ref.depth[~distractor])
    assert (a.depth[distractor] <= ref.depth[distractor]).all()
    # the scene's own labels do not move: classes keep their indices, distractor comes last
    assert renderer.class_names[-1] == "distractor"
    with Renderer(scene_(), [CAM], max_distractors=0) as bare:
        assert bare.class_names == renderer.class_names[:-1] and bare.id_to_class == {k: v for k, v in renderer.id_to_class.items() if k not in ids}
        np.testing.assert_array_equal(bare.class_lut, renderer.class_lut[: bare.ids])
    # deterministic from the seed; another seed moves them; the count only adds
    np.testing.assert_array_equal(draw(renderer, base).seg, a.seg)
    assert not np.array_equal(draw(renderer, {**base, "distractors.seed": 8}).seg, a.seg)
    fewer = draw(renderer, {**base, "distractors.count": 2})
    assert set(np.unique(fewer.seg).tolist()) & set(ids) <= {ids[0], ids[1]}
    assert renderer.spaces("c")["seg"].high.max() == ids[-1]


def test_tiled_rendering_with_looks_and_distractors(renderer, image):
    values = {"cube.texture": "noise", "floor.texture": f"image:{image}", "ball.color_g": 1.0, "distractors.count": 6, "distractors.seed": 2, "distractors.size_m": 0.05}
    renderer.set_appearance(values)
    names, pos, quat = scene_poses(renderer.scene)
    moved = pos.copy()
    moved[names.index("cube")] += (0.0, 0.2, 0.0)
    singles = [renderer.render(names, p, quat)["c"] for p in (pos, moved)]
    tiled = renderer.render_tiled(names, np.stack([pos, moved]), np.stack([quat, quat]))
    for state, single in enumerate(singles):
        t = tiled.frame("c", state)
        np.testing.assert_array_equal(t.seg, single.seg)
        assert np.abs(t.rgb.astype(int) - single.rgb).max() <= 2  # window offsets move float rounding
    assert np.isin(singles[0].seg, renderer.distractor_ids).any()


def test_camera_jitter_equals_the_moved_camera():
    jitter = {"camera.dx_m": 0.05, "camera.dy_m": -0.03, "camera.dz_m": 0.1, "camera.dpitch_rad": 0.05, "camera.dfov_deg": 4.0}
    mounted = look_at_camera("m", (-0.3, 0.0, 0.4), (0.5, 0.0, -0.2), body="cube", width=W, height=H)
    scene = scene_()
    with Renderer(scene, [CAM, mounted]) as r:
        ref = r.render(*scene_poses(scene))
        k0 = r.intrinsics("c")
        r.set_appearance(jitter)
        got = r.render(*scene_poses(scene))
        k1 = r.intrinsics("c")
        moved = [r.camera("c"), r.camera("m")]
        assert r.cameras["c"] is CAM  # the nominal spec is kept
    f = lambda fov: 0.5 * H / math.tan(math.radians(fov) / 2)  # noqa: E731
    assert k0[0, 0] == pytest.approx(f(CAM.fovy_deg)) and k1[0, 0] == pytest.approx(f(CAM.fovy_deg + 4.0))
    np.testing.assert_array_equal(k1[:, 2], k0[:, 2])
    rot = quat_to_mat(CAM.quat)
    np.testing.assert_allclose(moved[0].pos, np.asarray(CAM.pos) + rot @ [0.05, -0.03, 0.1], atol=1e-12)
    for name in ("c", "m"):
        assert not np.array_equal(got[name].seg, ref[name].seg)
    # exactly what a renderer built with the moved cameras draws
    with Renderer(scene_(), moved) as direct:
        want = direct.render(*scene_poses(scene))
        np.testing.assert_allclose(direct.intrinsics("c"), k1)
    for name in ("c", "m"):
        np.testing.assert_array_equal(got[name].seg, want[name].seg)
        np.testing.assert_array_equal(got[name].rgb, want[name].rgb)


def test_bad_names_and_values_are_named(renderer, image):
    before = draw(renderer, {"cube.color_r": 0.1})
    cases = [
        ({"cube.colour_r": 0.5}, "cube.colour_r.*unknown field 'colour_r'"),
        ({"crate.color_r": 0.5}, "unknown body 'crate'"),
        ({"cube.color_g": 1.5}, r"'cube.color_g'.*outside \[0, 1\]"),
        ({"cube.color_b": float("nan")}, "'cube.color_b'"),
        ({"cube.color_b": "red"}, "'cube.color_b': needs a number"),
        ({"cube.texture": "marble"}, "'cube.texture': texture must be one of"),
        ({"cube.texture": 3}, "'cube.texture': a texture is a string"),
        ({"cube.texture": "image:/no/such.png"}, "'cube.texture': cannot read image"),
        ({"cube.texture_scale_m": 0.0}, "'cube.texture_scale_m'"),
        ({"light.elevation_rad": 2.0}, "'light.elevation_rad'"),
        ({"light.brightness": 1.0}, "unknown field 'brightness'"),
        ({"camera.dfov_deg": -59.5}, "'camera.dfov_deg'.*outside \\[1, 179\\]"),
        ({"distractors.count": 9}, r"'distractors.count': 9 is outside \[0, 8\]"),
        ({"distractors.count": 2.5}, "'distractors.count': needs an integer"),
        ({"distractors.seed": -1}, "'distractors.seed'"),
        ({"nodot": 1.0}, "names are '<body>.<field>'"),
    ]
    for values, match in cases:
        with pytest.raises(AppearanceError, match=match):
            renderer.set_appearance(values)
    assert issubclass(AppearanceError, ValueError)
    np.testing.assert_array_equal(draw(renderer).rgb, before.rgb)  # a rejected dict changes nothing
    assert renderer.appearance.values["cube.color_r"] == 0.1
    # integral floats and numpy numbers are fine
    renderer.set_appearance({"distractors.count": 3.0, "distractors.seed": np.int64(4), "cube.color_r": np.float32(0.5)})
    assert renderer.appearance.values["distractors.count"] == 3
    # point lights only: no direction names
    scene = scene_()
    scene.lights = [Light("lamp", pos=(0, 0, 2), directional=False)]
    assert "light.azimuth_rad" not in visual_param_names(scene) and "light.intensity" in visual_param_names(scene)
    with pytest.raises(AppearanceError, match="not offered by this scene"):
        Appearance.from_values(scene, {"light.azimuth_rad": 0.0})


def _rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1e6


def test_appearance_updates_leak_no_gl_objects(image, tmp_path):
    paths = [image] + [str(write_png(tmp_path / f"t{i}.png", np.full((4, 4, 3), 40 * i, np.uint8))) for i in range(3)]
    scene = scene_()
    rng = np.random.default_rng(3)

    def random_values():
        tex = ["none", "checker", "noise", "gradient"] + [f"image:{p}" for p in paths]
        out = {f"{b}.texture": str(rng.choice(tex)) for b in ("floor", "cube", "ball")}
        out.update({f"{b}.color_{c}": float(rng.uniform()) for b in ("floor", "cube", "ball", "post") for c in "rgb"})
        out.update({"light.azimuth_rad": float(rng.uniform(-3, 3)), "camera.dx_m": float(rng.uniform(-0.02, 0.02)), "camera.dfov_deg": float(rng.uniform(-3, 3))})
        out.update({"distractors.count": int(rng.integers(0, 9)), "distractors.seed": int(rng.integers(1000))})
        return out

    with Renderer(scene, [CAM], shadows=True) as r:
        for _ in range(20):  # every program variant and image loaded
            draw(r, random_values())
        def inventory():  # GL objects by kind (programs: one per variant, compiled once each)
            return {k: (len(v) if isinstance(v, (dict, list)) else id(v)) for k, v in r._gl.items() if k != "programs"}

        objects = inventory()
        rss = _rss_mb()
        for _ in range(150):
            frame = draw(r, random_values())
        assert inventory() == objects
        # plain and material-textured programs, each with at most 16 pattern masks, and distractors
        assert len(r._gl["programs"]) <= 2 * 17 + 1
        assert len(r._camera_cache) <= 2 and len(r._images) == len(paths)
        assert _rss_mb() - rss < 20.0
        assert (frame.seg > 0).any()


def test_camera_view_keeps_and_reapplies_the_appearance():
    view = CameraView([CAM], width=W, height=H)
    backend = make_backend("mujoco")
    try:
        with pytest.raises(AppearanceError, match="'cube.color_r'"):
            view.set_appearance({"cube.color_r": 2.0})  # checked before any world exists
        backend.compile(scene_())
        plain = view.frame(backend)
        values = {"cube.color_g": 1.0, "object_9.color_r": 0.5, "light.intensity": 0.5}  # object_9 is not in this world
        view.set_appearance(values)
        first = view.frame(backend)
        assert not np.array_equal(first.rgb, plain.rgb)
        np.testing.assert_array_equal(first.seg, plain.seg)
        backend.compile(scene_())  # a reset with a new world: the view rebuilds its renderer
        renderer = view.renderer
        again = view.frame(backend)
        assert view.renderer is not renderer
        np.testing.assert_array_equal(again.rgb, first.rgb)
        assert view.renderer.appearance.values["cube.color_g"] == 1.0
        view.set_appearance({})
        np.testing.assert_array_equal(view.frame(backend).rgb, plain.rgb)
    finally:
        view.close()
        backend.close()


def test_shadows_follow_the_key_light():
    scene = scene_()
    with Renderer(scene, [CAM], shadows=True) as r:
        ref = draw(r, {})
        low = draw(r, {"light.elevation_rad": 0.35, "light.azimuth_rad": 0.0})
        with_d = draw(r, {"distractors.count": 8, "distractors.seed": 1, "distractors.size_m": 0.06})
    np.testing.assert_array_equal(low.seg, ref.seg)
    floor = ref.seg == 1
    assert (np.abs(low.rgb.astype(int) - ref.rgb.astype(int)).sum(-1)[floor] > 30).sum() > 100
    assert np.isin(with_d.seg, list(range(len(r.body_names) + 1, len(r.body_names) + 9))).any()

