/* simsuite._native: the few per-scan loops that numpy cannot run in one call.
 *
 * A 360-beam LIDAR scan costs the engine about 50 us (MuJoCo) to 600 us (PyBullet); the
 * numpy steps around it (noise, limits, reading PyBullet's per-ray tuples, exact box
 * distances) are each a fraction of a microsecond of arithmetic but 1-20 us of per-call
 * and per-element Python overhead. These kernels do that arithmetic in one pass each.
 *
 * Every kernel has a numpy twin (the code path taken when this module is not built);
 * tests/test_native.py checks that both give the same numbers. Arguments are checked here
 * (dtype, length, contiguity) and a mismatch raises TypeError or ValueError naming the
 * argument: a wrong buffer never reads or writes out of bounds.
 *
 * Built with -ffp-contract=off: a fused multiply-add would round differently from numpy.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <math.h>
#include <stdlib.h>

/* ------------------------------------------------------------------------------------ */
/* Buffers */

typedef struct {
    Py_buffer view;
    int held;
} Buf;

static void release(Buf *b) {
    if (b->held) {
        PyBuffer_Release(&b->view);
        b->held = 0;
    }
}

/* The format character of a buffer, past any byte-order prefix. */
static char format_char(const Py_buffer *v) {
    const char *f = v->format ? v->format : "B";
    while (*f == '@' || *f == '=' || *f == '<' || *f == '>' || *f == '!') f++;
    return *f;
}

/* A C-contiguous buffer of `n` items (n < 0: any count) of kind 'd' (float64), 'f' (float32)
 * or 'n' (intp); writable if asked. On failure sets an exception naming `name`. */
static int get_buf(PyObject *obj, Buf *b, char kind, Py_ssize_t n, int writable, const char *name) {
    int flags = PyBUF_C_CONTIGUOUS | PyBUF_FORMAT | (writable ? PyBUF_WRITABLE : 0);
    if (PyObject_GetBuffer(obj, &b->view, flags) < 0) {
        PyErr_Format(PyExc_TypeError, "%s must be a C-contiguous%s array", name, writable ? " writable" : "");
        return -1;
    }
    b->held = 1;
    char f = format_char(&b->view);
    int ok;
    if (kind == 'd') ok = f == 'd' && b->view.itemsize == 8;
    else if (kind == 'f') ok = f == 'f' && b->view.itemsize == 4;
    else ok = (f == 'l' || f == 'q' || f == 'n') && b->view.itemsize == (Py_ssize_t)sizeof(Py_ssize_t);
    if (!ok) {
        PyErr_Format(PyExc_TypeError, "%s must hold %s, got format '%s'", name,
                     kind == 'd' ? "float64" : kind == 'f' ? "float32" : "intp", b->view.format ? b->view.format : "B");
        release(b);
        return -1;
    }
    Py_ssize_t count = b->view.len / b->view.itemsize;
    if (n >= 0 && count != n) {
        PyErr_Format(PyExc_ValueError, "%s must have %zd items, got %zd", name, n, count);
        release(b);
        return -1;
    }
    return 0;
}

static Py_ssize_t count_of(const Buf *b) { return b->view.len / b->view.itemsize; }

static int check_nargs(Py_ssize_t nargs, Py_ssize_t want, const char *fn) {
    if (nargs != want) {
        PyErr_Format(PyExc_TypeError, "%s takes %zd arguments, got %zd", fn, want, nargs);
        return -1;
    }
    return 0;
}

/* ------------------------------------------------------------------------------------ */
/* lidar_readings(raw, gain, shift, out, range_min_m, range_max_m, no_return)
 *
 * A LIDAR's readings from the engine's distances, as simsuite.sensors.lidar.Lidar.sample
 * computes them with numpy: a beam whose true distance d is outside [range_min, range_max]
 * (a miss: negative, NaN or beyond range) reads no_return; otherwise the float32 reading
 * clip(f32(d) * gain + shift, range_min, range_max), gain and shift being the pre-drawn
 * noise (either may be None), and a NaN there (a dropped beam) reads no_return.
 */
static PyObject *lidar_readings(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    if (check_nargs(nargs, 7, "lidar_readings") < 0) return NULL;
    Buf raw = {0}, gain = {0}, shift = {0}, out = {0};
    double range_min = PyFloat_AsDouble(args[4]), range_max = PyFloat_AsDouble(args[5]);
    double no_return = PyFloat_AsDouble(args[6]);
    if (PyErr_Occurred()) return NULL;
    if (get_buf(args[0], &raw, 'd', -1, 0, "raw") < 0) return NULL;
    Py_ssize_t n = count_of(&raw);
    if ((args[1] != Py_None && get_buf(args[1], &gain, 'f', n, 0, "gain") < 0) ||
        (args[2] != Py_None && get_buf(args[2], &shift, 'f', n, 0, "shift") < 0) ||
        get_buf(args[3], &out, 'f', n, 1, "out") < 0) {
        release(&raw); release(&gain); release(&shift);
        return NULL;
    }
    const double *d = raw.view.buf;
    const float *g = gain.held ? gain.view.buf : NULL, *s = shift.held ? shift.view.buf : NULL;
    float *r = out.view.buf;
    const float lo = (float)range_min, hi = (float)range_max, none = (float)no_return;
    for (Py_ssize_t i = 0; i < n; i++) {
        double di = d[i];
        if (!(di >= range_min && di <= range_max)) {
            r[i] = none;
            continue;
        }
        float ri = (float)di;
        if (g) ri = ri * g[i];
        if (s) ri = ri + s[i];
        r[i] = isnan(ri) ? none : fmaxf(fminf(ri, hi), lo);
    }
    release(&raw); release(&gain); release(&shift); release(&out);
    Py_RETURN_NONE;
}

/* ------------------------------------------------------------------------------------ */
/* ray_columns(chunks, n, uid, link, fraction)
 *
 * PyBullet's rayTestBatch answers one tuple per ray, (uid, link, fraction, position,
 * normal), in a list of chunks (tuples of those tuples). This reads the columns asked for
 * (an array, or None to skip it) in one pass: uid and link as intp, fraction as float64.
 */
static PyObject *ray_columns(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    if (check_nargs(nargs, 5, "ray_columns") < 0) return NULL;
    PyObject *chunks = args[0];
    Py_ssize_t n = PyLong_AsSsize_t(args[1]);
    if (n < 0 && PyErr_Occurred()) return NULL;
    if (!PyList_Check(chunks)) {
        PyErr_SetString(PyExc_TypeError, "chunks must be a list of rayTestBatch answers");
        return NULL;
    }
    Buf uid = {0}, link = {0}, frac = {0};
    if ((args[2] != Py_None && get_buf(args[2], &uid, 'n', n, 1, "uid") < 0) ||
        (args[3] != Py_None && get_buf(args[3], &link, 'n', n, 1, "link") < 0) ||
        (args[4] != Py_None && get_buf(args[4], &frac, 'd', n, 1, "fraction") < 0)) {
        release(&uid); release(&link);
        return NULL;
    }
    Py_ssize_t *u = uid.held ? uid.view.buf : NULL, *l = link.held ? link.view.buf : NULL;
    double *f = frac.held ? frac.view.buf : NULL;
    Py_ssize_t i = 0;
    for (Py_ssize_t c = 0; c < PyList_GET_SIZE(chunks); c++) {
        PyObject *chunk = PyList_GET_ITEM(chunks, c);
        if (!PyTuple_Check(chunk)) {
            PyErr_SetString(PyExc_TypeError, "each chunk must be a tuple of per-ray tuples");
            goto fail;
        }
        Py_ssize_t m = PyTuple_GET_SIZE(chunk);
        if (i + m > n) {
            PyErr_Format(PyExc_ValueError, "the chunks hold more than %zd rays", n);
            goto fail;
        }
        for (Py_ssize_t k = 0; k < m; k++, i++) {
            PyObject *ray = PyTuple_GET_ITEM(chunk, k);
            if (!PyTuple_Check(ray) || PyTuple_GET_SIZE(ray) < 3) {
                PyErr_SetString(PyExc_TypeError, "a ray's answer must be a tuple (uid, link, fraction, ...)");
                goto fail;
            }
            if (u) u[i] = PyLong_AsSsize_t(PyTuple_GET_ITEM(ray, 0));
            if (l) l[i] = PyLong_AsSsize_t(PyTuple_GET_ITEM(ray, 1));
            if (f) f[i] = PyFloat_AsDouble(PyTuple_GET_ITEM(ray, 2));
        }
        if (PyErr_Occurred()) goto fail;
    }
    if (i != n) {
        PyErr_Format(PyExc_ValueError, "the chunks hold %zd rays, expected %zd", i, n);
        goto fail;
    }
    release(&uid); release(&link); release(&frac);
    Py_RETURN_NONE;
fail:
    release(&uid); release(&link); release(&frac);
    return NULL;
}

/* ------------------------------------------------------------------------------------ */
/* box_entries(uid, fraction, frames, pose, halves, units, max_range_m, out)
 *
 * Exact ray entry distances in a world of boxes and planes, as _BoxRays.entry_distances and
 * PybulletBackend._ray_hits compute them with numpy. For the body of uid u (0 <= u < U; any
 * other uid uses row U, whose half sizes are NaN): frames[u] (3, 4) is [geom <- world
 * rotation | -(geom origin in its own axes)] and halves[u] its half sizes (a plane:
 * inf, inf, 0). `pose` (4, 4) places the rays' frame in the world; `units` (N, 3) are the
 * rays' directions in that frame, from its origin. The entry into the box is the farthest
 * of its three near-face planes; where it is not within [0, max_range] (a start inside a
 * box), Bullet's fraction · max_range stands; a miss (uid < 0) reads NaN.
 */
static PyObject *box_entries(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    if (check_nargs(nargs, 8, "box_entries") < 0) return NULL;
    double max_range = PyFloat_AsDouble(args[6]);
    if (max_range == -1.0 && PyErr_Occurred()) return NULL;
    Buf uid = {0}, frac = {0}, frames = {0}, pose = {0}, halves = {0}, units = {0}, out = {0};
    PyObject *result = NULL;
    double *table = NULL;
    if (get_buf(args[0], &uid, 'n', -1, 0, "uid") < 0) goto done;
    Py_ssize_t n = count_of(&uid);
    if (get_buf(args[1], &frac, 'd', n, 0, "fraction") < 0 || get_buf(args[2], &frames, 'd', -1, 0, "frames") < 0) goto done;
    Py_ssize_t rows = count_of(&frames) / 12;
    if (rows < 1 || rows * 12 != count_of(&frames)) {
        PyErr_SetString(PyExc_ValueError, "frames must be (U + 1, 3, 4)");
        goto done;
    }
    if (get_buf(args[3], &pose, 'd', 16, 0, "pose") < 0 || get_buf(args[4], &halves, 'd', rows * 3, 0, "halves") < 0 ||
        get_buf(args[5], &units, 'd', n * 3, 0, "units") < 0 || get_buf(args[7], &out, 'd', n, 1, "out") < 0)
        goto done;
    table = malloc(sizeof(double) * 12 * rows);
    if (!table) {
        PyErr_NoMemory();
        goto done;
    }
    const double *F = frames.view.buf, *P = pose.view.buf, *H = halves.view.buf, *D = units.view.buf, *fr = frac.view.buf;
    const Py_ssize_t *ids = uid.view.buf;
    double *dist = out.view.buf;
    /* [A | o] of every geom in the rays' frame: frames[u] @ pose */
    for (Py_ssize_t g = 0; g < rows; g++)
        for (int r = 0; r < 3; r++)
            for (int c = 0; c < 4; c++) {
                const double *f = F + 12 * g + 4 * r;
                table[12 * g + 4 * r + c] = f[0] * P[c] + f[1] * P[4 + c] + f[2] * P[8 + c] + f[3] * P[12 + c];
            }
    for (Py_ssize_t i = 0; i < n; i++) {
        Py_ssize_t u = ids[i];
        if (u < 0) {
            dist[i] = NAN;
            continue;
        }
        Py_ssize_t row = u < rows - 1 ? u : rows - 1;
        const double *T = table + 12 * row, *h = H + 3 * row, *v = D + 3 * i;
        double entry = NAN;
        for (int k = 0; k < 3; k++) {
            double dk = T[4 * k] * v[0] + T[4 * k + 1] * v[1] + T[4 * k + 2] * v[2];
            double t = (copysign(h[k], dk) + T[4 * k + 3]) / dk;
            entry = fmin(entry, t); /* fmin skips the NaN of a zero direction component */
        }
        entry = -entry;
        dist[i] = (entry >= 0 && entry <= max_range) ? entry : fr[i] * max_range;
    }
    result = Py_None;
    Py_INCREF(result);
done:
    free(table);
    release(&uid); release(&frac); release(&frames); release(&pose); release(&halves); release(&units); release(&out);
    return result;
}

/* ------------------------------------------------------------------------------------ */
/* pose_rays(rays, offset, rot, pos, directions, origin)
 *
 * A ray fan placed on its body, as simsuite.backends.mujoco._MujocoRayFan does with MuJoCo's
 * own functions: directions = rays @ rot.T (rays (N, 3) in the body frame, rot (3, 3) the
 * body's rotation, row-major) and origin = pos + rot @ offset.
 */
static PyObject *pose_rays(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    if (check_nargs(nargs, 6, "pose_rays") < 0) return NULL;
    Buf rays = {0}, offset = {0}, rot = {0}, pos = {0}, dirs = {0}, origin = {0};
    PyObject *result = NULL;
    if (get_buf(args[0], &rays, 'd', -1, 0, "rays") < 0) goto done;
    Py_ssize_t n = count_of(&rays) / 3;
    if (n * 3 != count_of(&rays)) {
        PyErr_SetString(PyExc_ValueError, "rays must be (N, 3)");
        goto done;
    }
    if (get_buf(args[1], &offset, 'd', 3, 0, "offset") < 0 || get_buf(args[2], &rot, 'd', 9, 0, "rot") < 0 ||
        get_buf(args[3], &pos, 'd', 3, 0, "pos") < 0 || get_buf(args[4], &dirs, 'd', 3 * n, 1, "directions") < 0 ||
        get_buf(args[5], &origin, 'd', 3, 1, "origin") < 0)
        goto done;
    const double *v = rays.view.buf, *o = offset.view.buf, *R = rot.view.buf, *p = pos.view.buf;
    double *d = dirs.view.buf, *org = origin.view.buf;
    for (Py_ssize_t i = 0; i < n; i++, v += 3, d += 3)
        for (int r = 0; r < 3; r++) d[r] = v[0] * R[3 * r] + v[1] * R[3 * r + 1] + v[2] * R[3 * r + 2];
    for (int r = 0; r < 3; r++) org[r] = (o[0] * R[3 * r] + o[1] * R[3 * r + 1] + o[2] * R[3 * r + 2]) + p[r];
    result = Py_None;
    Py_INCREF(result);
done:
    release(&rays); release(&offset); release(&rot); release(&pos); release(&dirs); release(&origin);
    return result;
}

/* ------------------------------------------------------------------------------------ */
/* frame_pose(pos, quat_xyzw, offset, out)
 *
 * The 4x4 pose of a frame whose axes are those of a body frame at (pos, quat_xyzw), the
 * sequences PyBullet reports, and whose origin sits at `offset` in that frame:
 * [R | pos + R @ offset], R computed as Bullet's btMatrix3x3::setRotation does.
 */
static int read_doubles(PyObject *seq, double *out, Py_ssize_t n, const char *name) {
    PyObject *fast = PySequence_Fast(seq, name);
    if (!fast) return -1;
    if (PySequence_Fast_GET_SIZE(fast) != n) {
        PyErr_Format(PyExc_ValueError, "%s must have %zd numbers", name, n);
        Py_DECREF(fast);
        return -1;
    }
    for (Py_ssize_t i = 0; i < n; i++) out[i] = PyFloat_AsDouble(PySequence_Fast_ITEMS(fast)[i]);
    Py_DECREF(fast);
    return PyErr_Occurred() ? -1 : 0;
}

static PyObject *frame_pose(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    if (check_nargs(nargs, 4, "frame_pose") < 0) return NULL;
    double p[3], q[4];
    if (read_doubles(args[0], p, 3, "pos must be a sequence of 3 numbers") < 0 ||
        read_doubles(args[1], q, 4, "quat_xyzw must be a sequence of 4 numbers") < 0)
        return NULL;
    Buf offset = {0}, out = {0};
    if (get_buf(args[2], &offset, 'd', 3, 0, "offset") < 0) return NULL;
    if (get_buf(args[3], &out, 'd', 16, 1, "out") < 0) {
        release(&offset);
        return NULL;
    }
    double x = q[0], y = q[1], z = q[2], w = q[3];
    double s = 2.0 / (x * x + y * y + z * z + w * w);
    double xs = x * s, ys = y * s, zs = z * s;
    double wx = w * xs, wy = w * ys, wz = w * zs, xx = x * xs, xy = x * ys, xz = x * zs;
    double yy = y * ys, yz = y * zs, zz = z * zs;
    double R[9] = {1.0 - (yy + zz), xy - wz, xz + wy, xy + wz, 1.0 - (xx + zz), yz - wx, xz - wy, yz + wx, 1.0 - (xx + yy)};
    const double *o = offset.view.buf;
    double *T = out.view.buf;
    for (int r = 0; r < 3; r++) {
        T[4 * r] = R[3 * r], T[4 * r + 1] = R[3 * r + 1], T[4 * r + 2] = R[3 * r + 2];
        T[4 * r + 3] = p[r] + (R[3 * r] * o[0] + R[3 * r + 1] * o[1] + R[3 * r + 2] * o[2]);
    }
    T[12] = T[13] = T[14] = 0.0, T[15] = 1.0;
    release(&offset); release(&out);
    Py_RETURN_NONE;
}

/* ------------------------------------------------------------------------------------ */

static PyMethodDef methods[] = {
    {"lidar_readings", (PyCFunction)(void (*)(void))lidar_readings, METH_FASTCALL,
     "lidar_readings(raw, gain, shift, out, range_min_m, range_max_m, no_return): LIDAR readings from engine distances"},
    {"ray_columns", (PyCFunction)(void (*)(void))ray_columns, METH_FASTCALL,
     "ray_columns(chunks, n, uid, link, fraction): columns of PyBullet's rayTestBatch answer"},
    {"box_entries", (PyCFunction)(void (*)(void))box_entries, METH_FASTCALL,
     "box_entries(uid, fraction, frames, pose, halves, units, max_range_m, out): exact ray entries into boxes"},
    {"pose_rays", (PyCFunction)(void (*)(void))pose_rays, METH_FASTCALL,
     "pose_rays(rays, offset, rot, pos, directions, origin): a ray fan placed on its body"},
    {"frame_pose", (PyCFunction)(void (*)(void))frame_pose, METH_FASTCALL,
     "frame_pose(pos, quat_xyzw, offset, out): the 4x4 pose of an offset frame on a body"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "simsuite._native", "SimSuite's optional C kernels (see _native.c).", -1, methods};

PyMODINIT_FUNC PyInit__native(void) { return PyModule_Create(&module); }
