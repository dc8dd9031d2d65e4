"""The headless GL context, chosen in one place.

Every renderer in SimSuite gets its OpenGL context from :func:`create_context`: a
standalone moderngl context on EGL, with no window system and no X server (no Xvfb).
On a CPU machine EGL is Mesa's software device (llvmpipe); on a machine with an NVIDIA
GPU it is the NVIDIA EGL device. One environment variable overrides the choice:

``SIMSUITE_GL``  = ``egl`` (default) ``| egl:<device> | x11``

``<device>`` is one of

- ``auto`` (default): the first hardware EGL device that opens, else the software one;
- ``cpu``: Mesa's software device (llvmpipe), even where a GPU exists;
- ``gpu``: the first hardware device; an error if there is none;
- ``cuda:N``: the EGL device whose CUDA ordinal (``EGL_NV_device_cuda``) is N, so that
  rendering and a CUDA learner share one GPU; N counts as CUDA does in this process
  (after ``CUDA_VISIBLE_DEVICES``);
- ``N``: EGL device number N in ``eglQueryDevicesEXT`` order (see :func:`egl_devices`).

``x11`` uses glcontext's GLX backend on a machine with a display (debugging only).
A ``device`` argument (``Renderer(..., device="cpu")``) takes precedence over the
variable's device part.

On Mesa llvmpipe, SimSuite sets ``LP_NUM_THREADS=0`` (rasterize on the calling thread)
unless it is already set: images of RL size (84², 128²) render about twice as fast
without llvmpipe's thread hand-offs, and parallel envs run one process per core anyway.
For big single-env images on a many-core machine, set ``LP_NUM_THREADS`` to the number
of rasterizer threads before the first renderer is made. Contexts are made on ``EGL_PLATFORM_DEVICE_EXT`` displays,
so ``EGL_PLATFORM`` and ``DISPLAY`` play no part.

On a bare Debian/Ubuntu machine EGL needs these packages (see :data:`EGL_PACKAGES`):
``libegl1`` (the glvnd loader), ``libegl-mesa0`` (Mesa's EGL vendor), ``libgl1-mesa-dri``
(llvmpipe), ``libgbm1`` and ``libgl1``. NVIDIA machines need the driver's EGL vendor
(``libnvidia-egl*`` / ``libnvidia-gl-<version>``) and its ``10_nvidia.json`` glvnd file.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import threading
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

ENV_VAR = "SIMSUITE_GL"
LLVMPIPE_THREADS = "0"  # default for LP_NUM_THREADS (see the module docstring)
BACKENDS = ("egl", "x11")
EGL_PACKAGES = ("libegl1", "libegl-mesa0", "libgl1-mesa-dri", "libgbm1", "libgl1")
INSTALL_HINT = (
    "headless rendering needs EGL. On Debian/Ubuntu: apt-get install "
    + " ".join(EGL_PACKAGES)
    + " (Mesa llvmpipe, CPU); on an NVIDIA GPU machine the driver's EGL vendor library "
    "(libnvidia-gl-<version>, which also provides /usr/share/glvnd/egl_vendor.d/10_nvidia.json)"
)

# EGL enums used for device enumeration
_EGL_EXTENSIONS = 0x3055
_EGL_DRM_DEVICE_FILE_EXT = 0x3233
_EGL_CUDA_DEVICE_NV = 0x323A
_EGL_RENDERER_EXT = 0x335F


class RenderError(RuntimeError):
    """The renderer cannot run here; the message says what to install or change."""


@dataclass(frozen=True)
class EglDevice:
    """One EGL device as ``eglQueryDevicesEXT`` lists it."""

    index: int
    software: bool  # Mesa's llvmpipe / softpipe device (EGL_MESA_device_software)
    drm_file: str | None  # e.g. /dev/dri/card0 (EGL_EXT_device_drm)
    cuda_device: int | None  # CUDA ordinal (EGL_NV_device_cuda)
    renderer: str | None  # EGL_EXT_device_query_name, where the vendor gives it
    extensions: tuple[str, ...]

    @property
    def kind(self) -> str:
        return "cpu" if self.software else "gpu"


@dataclass(frozen=True)
class ContextInfo:
    """What a created context runs on (for logs, benchmarks and bug reports)."""

    backend: str  # "egl" or "x11"
    device: EglDevice | None  # None for x11
    gl_renderer: str  # e.g. "llvmpipe (LLVM 15.0.6, 256 bits)" or "NVIDIA H100 .../PCIe/SSE2"
    gl_version: str
    vendor: str

    @property
    def software(self) -> bool:
        return any(s in self.gl_renderer.lower() for s in ("llvmpipe", "softpipe", "swrast", "software"))


# -- the EGL library ---------------------------------------------------------------


@lru_cache(maxsize=1)
def _libegl() -> ctypes.CDLL:
    names = [os.environ.get("GLCONTEXT_LINUX_LIBEGL"), ctypes.util.find_library("EGL"), "libEGL.so.1"]
    errors = []
    for name in [n for n in names if n]:
        try:
            lib = ctypes.CDLL(name)
        except OSError as exc:
            errors.append(str(exc))
            continue
        lib.eglGetProcAddress.restype = ctypes.c_void_p
        lib.eglGetProcAddress.argtypes = [ctypes.c_char_p]
        return lib
    raise RenderError(f"no EGL library found ({'; '.join(errors) or 'libEGL.so.1 not on the library path'}): {INSTALL_HINT}")


def gl_function(name: str, restype: Any, *argtypes: Any) -> Any:
    """A core GL entry point (``glClearBufferfv``...) for the current context, via EGL."""
    ptr = _libegl().eglGetProcAddress(name.encode())
    if not ptr:
        raise RenderError(f"EGL gives no address for {name}")
    return ctypes.CFUNCTYPE(restype, *argtypes)(ptr)


def egl_devices() -> list[EglDevice]:
    """The EGL devices of this machine, in the order glcontext's ``device_index`` counts."""
    lib = _libegl()
    query_devices = lib.eglGetProcAddress(b"eglQueryDevicesEXT")
    if not query_devices:
        raise RenderError(f"this EGL has no eglQueryDevicesEXT (EGL_EXT_device_enumeration): {INSTALL_HINT}")
    query_devices = ctypes.CFUNCTYPE(ctypes.c_uint, ctypes.c_int, ctypes.POINTER(ctypes.c_void_p), ctypes.POINTER(ctypes.c_int))(query_devices)
    query_string_ptr = lib.eglGetProcAddress(b"eglQueryDeviceStringEXT")
    query_attrib_ptr = lib.eglGetProcAddress(b"eglQueryDeviceAttribEXT")
    query_string = ctypes.CFUNCTYPE(ctypes.c_char_p, ctypes.c_void_p, ctypes.c_int)(query_string_ptr) if query_string_ptr else None
    query_attrib = (
        ctypes.CFUNCTYPE(ctypes.c_uint, ctypes.c_void_p, ctypes.c_int, ctypes.POINTER(ctypes.c_ssize_t))(query_attrib_ptr)
        if query_attrib_ptr
        else None
    )
    handles = (ctypes.c_void_p * 32)()
    count = ctypes.c_int(0)
    if not query_devices(32, handles, ctypes.byref(count)):
        raise RenderError(f"eglQueryDevicesEXT failed: {INSTALL_HINT}")
    devices = []
    for i in range(count.value):
        handle = handles[i]

        def string(enum: int) -> str | None:
            if query_string is None:
                return None
            raw = query_string(handle, enum)
            return raw.decode(errors="replace") if raw else None

        extensions = tuple((string(_EGL_EXTENSIONS) or "").split())
        cuda = None
        if "EGL_NV_device_cuda" in extensions and query_attrib is not None:
            value = ctypes.c_ssize_t(-1)
            if query_attrib(handle, _EGL_CUDA_DEVICE_NV, ctypes.byref(value)):
                cuda = int(value.value)
        devices.append(
            EglDevice(
                index=i,
                software="EGL_MESA_device_software" in extensions,
                drm_file=string(_EGL_DRM_DEVICE_FILE_EXT) if "EGL_EXT_device_drm" in extensions else None,
                cuda_device=cuda,
                renderer=string(_EGL_RENDERER_EXT) if "EGL_EXT_device_query_name" in extensions else None,
                extensions=extensions,
            )
        )
    return devices


# -- choosing --------------------------------------------------------------------------


def parse_choice(device: str | None = None) -> tuple[str, str]:
    """``(backend, device)`` from the ``device`` argument and ``SIMSUITE_GL``."""
    value = os.environ.get(ENV_VAR, "").strip().lower() or "egl"
    backend, _, env_device = value.partition(":")
    if backend not in BACKENDS:
        raise RenderError(f"{ENV_VAR}={value!r}: the backend must be one of {BACKENDS} (optionally egl:<device>)")
    chosen = (device if device is not None else env_device or "auto").strip().lower()
    _check_device(chosen, f"device {device!r}" if device is not None else f"{ENV_VAR}={value!r}")
    return backend, chosen


def _check_device(device: str, where: str) -> None:
    ok = device in ("auto", "cpu", "gpu") or device.isdigit() or (device.startswith("cuda:") and device[5:].isdigit())
    if not ok:
        raise RenderError(f"{where}: device must be 'auto', 'cpu', 'gpu', 'cuda:N' or an EGL device number N")


def candidates(device: str, devices: list[EglDevice]) -> list[EglDevice]:
    """The devices to try, best first, for a device choice (see the module docstring)."""
    if not devices:
        raise RenderError(f"EGL lists no device (no EGL vendor library installed?): {INSTALL_HINT}")
    listing = ", ".join(f"{d.index}:{d.kind}" + (f"(cuda:{d.cuda_device})" if d.cuda_device is not None else "") for d in devices)
    hardware = [d for d in devices if not d.software]
    software = [d for d in devices if d.software]
    if device == "auto":
        return hardware + software
    if device == "cpu":
        if not software:
            raise RenderError(f"no software EGL device (Mesa llvmpipe) among [{listing}]: install libegl-mesa0 libgl1-mesa-dri")
        return software
    if device == "gpu":
        if not hardware:
            raise RenderError(f"no hardware EGL device among [{listing}]; use device 'cpu' or 'auto' on a machine without a GPU")
        return hardware
    if device.startswith("cuda:"):
        want = int(device[5:])
        match = [d for d in devices if d.cuda_device == want]
        if not match:
            raise RenderError(f"no EGL device with CUDA ordinal {want} among [{listing}]")
        return match
    index = int(device)
    if index >= len(devices):
        raise RenderError(f"EGL device {index} requested but there are {len(devices)}: [{listing}]")
    return [devices[index]]


# -- creating ---------------------------------------------------------------------------

_live_lock = threading.Lock()
_live = 0


def live_contexts() -> int:
    """How many contexts made by :func:`create_context` are not yet released (leak checks)."""
    return _live


def create_context(device: str | None = None):
    """A standalone moderngl context (GL >= 3.3 core) and its :class:`ContextInfo`.

    Release it with :func:`release_context`, which keeps :func:`live_contexts` honest.
    """
    global _live
    try:
        import moderngl
    except ImportError as exc:  # pragma: no cover - moderngl is a dependency
        raise RenderError(f"moderngl is not installed (pip install moderngl): {exc}") from exc
    backend, choice = parse_choice(device)
    if backend == "x11":
        try:
            ctx = moderngl.create_context(standalone=True, require=330)
        except Exception as exc:
            raise RenderError(f"{ENV_VAR}=x11 could not open a GLX context ({exc}); unset it to render headless on EGL") from exc
        info = _info(ctx, "x11", None)
    else:
        os.environ.setdefault("LP_NUM_THREADS", LLVMPIPE_THREADS)  # read by Mesa when a display opens
        tried = []
        ctx, info = None, None
        for dev in candidates(choice, egl_devices()):
            try:
                ctx = moderngl.create_context(standalone=True, backend="egl", device_index=dev.index, require=330)
            except Exception as exc:  # glcontext raises plain Exceptions with EGL error text
                tried.append(f"device {dev.index} ({dev.kind}): {exc}")
                continue
            info = _info(ctx, "egl", dev)
            break
        if ctx is None:
            raise RenderError(f"no EGL device gave a GL 3.3 context ({'; '.join(tried)}): {INSTALL_HINT}")
    with _live_lock:
        _live += 1
    if backend == "egl":  # a new context is current on the thread that made it
        _handles[id(ctx)] = _egl_current_handle() or 0
    return ctx, info


def release_context(ctx) -> None:
    """Release a context from :func:`create_context` (call once)."""
    global _live
    handle = _handles.get(id(ctx))
    forget_current(ctx)
    ctx.release()
    if handle and _egl_current_handle() == handle:
        # still bound (EGL keeps a current context alive after it is destroyed): unbind it,
        # so that no other library later tries to restore a context that is gone
        lib = _libegl()
        lib.eglGetCurrentDisplay.restype = ctypes.c_void_p
        lib.eglMakeCurrent.argtypes = [ctypes.c_void_p] * 4
        lib.eglMakeCurrent(lib.eglGetCurrentDisplay(), None, None, None)
    with _live_lock:
        _live -= 1


_handles: dict[int, int] = {}  # id(ctx) -> its native EGL context handle


@lru_cache(maxsize=1)
def _get_current_context():
    fn = _libegl().eglGetCurrentContext
    fn.restype = ctypes.c_void_p
    fn.argtypes = []
    return fn


def _egl_current_handle() -> int | None:
    """The calling thread's current EGL context (None where EGL is not in use)."""
    try:
        fn = _get_current_context()
    except RenderError:
        return None
    return fn() or 0


def make_current(ctx) -> None:
    """Make ``ctx`` this thread's current GL context, cheaply when it already is.

    Several renderers (several envs) may live in one process, each with its own context,
    and other libraries (MuJoCo's renderer, PyBullet's EGL plugin) switch the current
    EGL context behind our back; GL calls go to whichever is current. So before drawing,
    every renderer checks the native current context and switches only when it differs.
    """
    handle = _handles.get(id(ctx))
    if handle and _egl_current_handle() == handle:
        return
    ctx.mglo.__enter__()


def forget_current(ctx) -> None:
    """Drop ``ctx``'s handle (before releasing it; ids are reused)."""
    _handles.pop(id(ctx), None)


def _info(ctx, backend: str, device: EglDevice | None) -> ContextInfo:
    gl = ctx.info
    return ContextInfo(backend, device, str(gl.get("GL_RENDERER", "?")), str(gl.get("GL_VERSION", "?")), str(gl.get("GL_VENDOR", "?")))


def describe() -> str:
    """One paragraph on what rendering would use here (``python -m simsuite.render.context``)."""
    lines = [f"{ENV_VAR}={os.environ.get(ENV_VAR, '') or '(unset: egl:auto)'}"]
    try:
        for d in egl_devices():
            extra = ", ".join(x for x in (d.renderer, d.drm_file, f"cuda:{d.cuda_device}" if d.cuda_device is not None else None) if x)
            lines.append(f"EGL device {d.index}: {d.kind}" + (f" ({extra})" if extra else ""))
        ctx, info = create_context()
        lines.append(f"chose {info.backend} device {info.device.index if info.device else '-'}: {info.gl_renderer}, GL {info.gl_version}")
        release_context(ctx)
    except RenderError as exc:
        lines.append(f"error: {exc}")
    return "\n".join(lines)


if __name__ == "__main__":  # pragma: no cover
    print(describe())
