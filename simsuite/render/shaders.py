"""GLSL for the one-pass renderer (GL 3.3 core).

Vertices are stored once, in their body's frame; each body's pose is three texels
(rows of [R | t]) in a float texture, fetched per vertex, so a whole frame is one
draw call per texture. The fragment stage writes three render targets at once:
colour (RGBA8), metric depth along the optical axis (R32F, interpolated from the
vertex stage, perspective-correct, so exact for planar faces) and the body's
instance id (R32I, flat: no interpolation, no anti-aliasing).

On CPU rasterizers (llvmpipe) the cost of a triangle grows with the number of
interpolated values, so there are few: the normal and the depth, plus texture
coordinates for textured draws. Colour and id are flat; the fragment's position in
the optical frame is rebuilt from its pixel and depth, and lighting happens there.
Features a draw does not use are compiled out (#define), since llvmpipe runs both
sides of a branch.
"""

from typing import Sequence

POSE_FETCH = """
uniform sampler2D u_poses;   // body b of state s: row s * n_bodies + b; texels 0..2 = rows of [R | t]
uniform int u_pose_offset;

vec3 to_world(vec3 p, int body, out mat3 rot) {
    int row = u_pose_offset + body;
    vec4 r0 = texelFetch(u_poses, ivec2(0, row), 0);
    vec4 r1 = texelFetch(u_poses, ivec2(1, row), 0);
    vec4 r2 = texelFetch(u_poses, ivec2(2, row), 0);
    rot = transpose(mat3(r0.xyz, r1.xyz, r2.xyz));
    return vec3(dot(r0.xyz, p) + r0.w, dot(r1.xyz, p) + r1.w, dot(r2.xyz, p) + r2.w);
}
"""

_VERTEX = (
    """
uniform mat4 u_view;   // world -> optical frame (x right, y down, z forward)
uniform mat4 u_proj;   // optical frame -> clip

in vec3 in_pos;
in vec3 in_normal;
in vec4 in_color;
in int in_body;
#ifdef TEXTURED
in vec2 in_uv;
out vec2 v_uv;
#endif
#ifdef LOOK
uniform sampler2D u_look;   // row = body (and distractor shape): texel 0 = (rgb, mode), 1 = (rgb2, scale_m), 2 = (axis or unit scale, image layer)
#ifdef PATTERNS
out vec3 v_local;           // body frame [m]: procedural patterns stick to the body
#endif
flat out vec4 v_look;       // (rgb2, scale_m)
flat out vec4 v_axis;       // (gradient axis, image layer)
flat out int v_mode;
#endif

out vec3 v_normal;      // optical frame
out float v_depth;      // optical z [m]
flat out vec3 v_color;
flat out int v_id;

void main() {
    mat3 rot;
    vec4 p = u_view * vec4(to_world(in_pos, in_body, rot), 1.0);
    v_normal = mat3(u_view) * (rot * in_normal);
    v_depth = p.z;
    v_color = in_color.rgb;
    v_id = in_body + 1;
#ifdef LOOK
    vec4 a0 = texelFetch(u_look, ivec2(0, in_body), 0);
    v_mode = int(a0.w + 0.5);
    v_color = v_mode > 0 ? a0.rgb : v_color;
    v_look = texelFetch(u_look, ivec2(1, in_body), 0);
    v_axis = texelFetch(u_look, ivec2(2, in_body), 0);
#ifdef PATTERNS
    v_local = in_pos;
#endif
#endif
#ifdef DISTRACTOR
    // distractor slot k has three shape rows N_BODIES + 3k + s (unused ones posed to zero);
    // all three carry the slot's id, and the local frame is the scaled unit shape's
    v_id = N_BODIES + 1 + (in_body - N_BODIES) / 3;
#ifdef PATTERNS
    v_local = in_pos * v_axis.xyz;
#endif
    v_axis.xyz = vec3(0.0, 0.0, 1.0);
#endif
#ifdef TEXTURED
    v_uv = in_uv;
#endif
    gl_Position = u_proj * p;
}
"""
)

_FRAGMENT = """
uniform vec2 u_center;     // window coordinates of the optical axis (viewport origin + size / 2)
uniform vec2 u_focal;      // focal lengths [px]
uniform vec3 u_ambient;
uniform vec3 u_headlight;  // a light along the view direction (colour)
uniform float u_specular;
#if N_LIGHTS > 0
uniform vec4 u_light_pos[N_LIGHTS];   // optical frame; w = 0: directional, xyz = direction of travel; w = 1: point position
uniform vec3 u_light_color[N_LIGHTS];
#endif
#ifdef TEXTURED
uniform sampler2D u_tex;
in vec2 v_uv;
#endif
#if SHADOW_LIGHT >= 0
uniform sampler2DShadow u_shadow_map;
uniform mat4 u_light_from_view;   // optical frame -> shadow-map clip space
#endif
#ifdef LOOK
#ifdef PATTERNS
in vec3 v_local;
#endif
#ifdef PATTERN_IMAGE
uniform sampler2DArray u_images;
#endif
flat in vec4 v_look;
flat in vec4 v_axis;
flat in int v_mode;
#endif

in vec3 v_normal;
in float v_depth;
flat in vec3 v_color;
flat in int v_id;

layout(location = 0) out vec4 out_rgb;
layout(location = 1) out float out_depth;
layout(location = 2) out int out_seg;

#if SHADOW_LIGHT >= 0
float lit_fraction(vec3 p, vec3 n, vec3 l) {
    vec4 c = u_light_from_view * vec4(p, 1.0);
    vec3 s = c.xyz / c.w * 0.5 + 0.5;
    if (s.x < 0.0 || s.x > 1.0 || s.y < 0.0 || s.y > 1.0 || s.z > 1.0) return 1.0;
    float bias = 0.0015 + 0.004 * (1.0 - abs(dot(n, l)));
    vec2 texel = 0.5 / vec2(textureSize(u_shadow_map, 0));
    return 0.25 * (texture(u_shadow_map, vec3(s.xy + vec2(-texel.x, -texel.y), s.z - bias))
                 + texture(u_shadow_map, vec3(s.xy + vec2(texel.x, -texel.y), s.z - bias))
                 + texture(u_shadow_map, vec3(s.xy + vec2(-texel.x, texel.y), s.z - bias))
                 + texture(u_shadow_map, vec3(s.xy + vec2(texel.x, texel.y), s.z - bias)));
}
#endif
#ifdef PATTERNS
float hash3(vec3 c) { return fract(sin(dot(c, vec3(127.1, 311.7, 74.7))) * 43758.5453); }

float value_noise(vec3 x) {
    vec3 i = floor(x);
    vec3 f = x - i;
    f = f * f * (3.0 - 2.0 * f);
    float a = mix(mix(hash3(i), hash3(i + vec3(1, 0, 0)), f.x), mix(hash3(i + vec3(0, 1, 0)), hash3(i + vec3(1, 1, 0)), f.x), f.y);
    float b = mix(mix(hash3(i + vec3(0, 0, 1)), hash3(i + vec3(1, 0, 1)), f.x), mix(hash3(i + vec3(0, 1, 1)), hash3(i + vec3(1, 1, 1)), f.x), f.y);
    return mix(a, b, f.z);
}

// The body's pattern at this fragment: checker, noise, gradient or image (modes 2..5).
// Box mapping: the face's two in-plane body axes (from the screen-space derivatives of
// the body-frame position, so flat faces get no seams and no extra interpolant).
vec3 pattern(vec3 base) {
    vec3 q = v_local / v_look.w;
    vec3 dx = dFdx(q), dy = dFdy(q);
    vec3 a = abs(cross(dx, dy));
    bool ax = a.x >= a.y && a.x >= a.z, ay = !ax && a.y >= a.z;
    vec2 uv = ax ? q.yz : (ay ? q.xz : q.xy);
    vec2 du = ax ? dx.yz : (ay ? dx.xz : dx.xy), dv = ax ? dy.yz : (ay ? dy.xz : dy.xy);
    vec3 c2 = v_look.rgb;
#ifdef PATTERN_CHECKER
    if (v_mode == 2) {
        vec2 cell = floor(uv);
        return mod(cell.x + cell.y, 2.0) < 0.5 ? base : c2;
    }
#endif
#ifdef PATTERN_NOISE
    if (v_mode == 3) {
        float t = 0.65 * value_noise(q) + 0.35 * value_noise(q * 2.7 + 17.0);
        return mix(base, c2, t);
    }
#endif
#ifdef PATTERN_GRADIENT
    if (v_mode == 4) {
        float s = dot(v_local, v_axis.xyz) / (2.0 * v_look.w);
        return mix(base, c2, abs(fract(s) * 2.0 - 1.0));
    }
#endif
#ifdef PATTERN_IMAGE
    if (v_mode == 5) return base * textureGrad(u_images, vec3(uv, v_axis.w), du, dv).rgb;
#endif
    return base;
}
#endif

void main() {
    vec3 p = vec3((gl_FragCoord.xy - u_center) / u_focal * v_depth, v_depth);
    vec3 view = -normalize(p);
    vec3 n = normalize(v_normal);
    float ndv = dot(n, view);
    n = ndv < 0.0 ? -n : n;  // two-sided: thin meshes and planes seen from below
    vec3 base = v_color;
#ifdef TEXTURED
    base *= texture(u_tex, v_uv).rgb;
#endif
#ifdef PATTERNS
    if (v_mode >= 2) base = pattern(v_color);
#endif
    vec3 color = (u_ambient + u_headlight * abs(ndv)) * base;
LIGHTING
    out_rgb = vec4(color, 1.0);
    out_depth = v_depth;
    out_seg = v_id;
}
"""


PATTERN_BITS = {"checker": 1, "noise": 2, "gradient": 4, "image": 8}  # texture kind -> bit of a look variant's pattern mask


def _defines(n_lights: int, textured: bool, shadow_light: int, look: bool = False, distractor_base: int = -1, patterns: int = 0) -> str:
    out = f"#version 330\n#define N_LIGHTS {n_lights}\n#define SHADOW_LIGHT {shadow_light}\n" + ("#define TEXTURED\n" if textured else "")
    if look or distractor_base >= 0:
        out += "#define LOOK\n"
        if patterns:
            out += "#define PATTERNS\n" + "".join(f"#define PATTERN_{k.upper()}\n" for k, bit in PATTERN_BITS.items() if patterns & bit)
    if distractor_base >= 0:
        out += f"#define DISTRACTOR\n#define N_BODIES {distractor_base}\n"
    return out


def vertex(textured: bool, look: bool = False, distractor_base: int = -1, patterns: int = 0) -> str:
    """The vertex shader; ``look``: per-body appearance (colour override and patterns from
    the ``u_look`` rows); ``distractor_base`` >= 0: distractor shapes, whose rows start after
    that many bodies; ``patterns``: mask (:data:`PATTERN_BITS`) of the textures compiled in
    (llvmpipe pays for every pattern compiled in, used or not)."""
    return _defines(0, textured, -1, look, distractor_base, patterns) + POSE_FETCH + _VERTEX


def _light_code(i: int, directional: bool, specular: bool, shadow: bool) -> str:
    """One light's term, unrolled: its kind is known when the program is built, and
    llvmpipe would evaluate both sides of a run-time choice. ``pow(x, 32)`` is five
    squarings (``pow`` is exp2(log2) on a CPU rasterizer, the costliest line here)."""
    l = f"-u_light_pos[{i}].xyz" if directional else f"normalize(u_light_pos[{i}].xyz - p)"
    lines = [f"    {{ vec3 l = {l};", "      float ndl = max(dot(n, l), 0.0);", "      vec3 term = base * ndl;"]
    if specular:
        lines += [
            "      float s = max(dot(n, normalize(l + view)), 0.0);",
            "      s *= s; s *= s; s *= s; s *= s; s *= s;",
            "      term += vec3(s * u_specular * step(1e-6, ndl));",
        ]
    if shadow:
        lines.append("      term *= lit_fraction(p, n, l);")
    lines.append(f"      color += u_light_color[{i}] * term; }}")
    return "\n".join(lines) + "\n"


def fragment(directional: Sequence[bool], textured: bool, shadow_light: int, specular: bool = True, look: bool = False, patterns: int = 0) -> str:
    """The fragment shader for lights of the given kinds (True: directional, False: point),
    with or without a texture, a shadow map (index of its light, -1: none), specular and
    per-body appearance (``look``: colour override, and the ``patterns`` mask's textures)."""
    code = "".join(_light_code(i, d, specular, i == shadow_light) for i, d in enumerate(directional))
    return _defines(len(directional), textured, shadow_light, look, -1, patterns) + _FRAGMENT.replace("LIGHTING\n", code)


SHADOW_VERTEX = (
    "#version 330\n"
    + POSE_FETCH
    + """
uniform mat4 u_light_vp;
in vec3 in_pos;
in int in_body;
void main() {
    mat3 rot;
    gl_Position = u_light_vp * vec4(to_world(in_pos, in_body, rot), 1.0);
}
"""
)

SHADOW_FRAGMENT = """
#version 330
void main() {}
"""
