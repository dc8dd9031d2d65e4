/* simsuite._native: the few per-scan and per-step loops that numpy cannot run in one call.
 *
 * A 360-beam LIDAR scan costs the engine about 50 us (MuJoCo) to 600 us (PyBullet); the
 * numpy steps around it (noise, limits, reading PyBullet's per-ray tuples, exact box
 * distances) are each a fraction of a microsecond of arithmetic but 1-20 us of per-call
 * and per-element Python overhead. Likewise a randomized control step adds noise to a
 * handful of numbers and clips them, three numpy calls for nanoseconds of work. These
 * kernels do that arithmetic in one pass each.
 *
 * Every kernel has a numpy twin (the code path taken when this module is not built);
 * tests/test_native.py checks that both give the same numbers. Array arguments are checked
 * here (numpy array, dtype, length, contiguity, writable) and a mismatch raises TypeError or
 * ValueError naming the argument: a wrong array never reads or writes out of bounds.
 *
 * Built with -ffp-contract=off: a fused multiply-add would round differently from numpy.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#define NPY_NO_DEPRECATED_API NPY_1_7_API_VERSION
#include <numpy/arrayobject.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------------------------ */
/* Arguments */

/* The data of `obj` if it is a C-contiguous numpy array of `type` with `n` items (n < 0:
 * any count), writable if asked; else NULL with an exception naming the argument. Read
 * through numpy's C API: a buffer-protocol export costs more than the loops here. */
static void *array_data(PyObject *obj, int type, Py_ssize_t n, int writable, const char *name) {
    if (!PyArray_Check(obj)) {
        PyErr_Format(PyExc_TypeError, "%s must be a numpy array, got %.100s", name, Py_TYPE(obj)->tp_name);
        return NULL;
    }
    PyArrayObject *a = (PyArrayObject *)obj;
    if (PyArray_TYPE(a) != type) {
        const char *want = type == NPY_FLOAT64 ? "float64" : type == NPY_FLOAT32 ? "float32" : "intp";
        PyErr_Format(PyExc_TypeError, "%s must hold %s, got %c", name, want, PyArray_DESCR(a)->type);
        return NULL;
    }
    if (!PyArray_IS_C_CONTIGUOUS(a)) {
        PyErr_Format(PyExc_TypeError, "%s must be a C-contiguous array", name);
        return NULL;
    }
    if (writable && !PyArray_ISWRITEABLE(a)) {
        PyErr_Format(PyExc_TypeError, "%s must be a writable array", name);
        return NULL;
    }
    if (n >= 0 && PyArray_SIZE(a) != n) {
        PyErr_Format(PyExc_ValueError, "%s must have %zd items, got %zd", name, n, (Py_ssize_t)PyArray_SIZE(a));
        return NULL;
    }
    return PyArray_DATA(a);
}

static Py_ssize_t size_of(PyObject *obj) { return (Py_ssize_t)PyArray_SIZE((PyArrayObject *)obj); }

/* The dtype (NPY_FLOAT32 or NPY_FLOAT64) of a float array argument, or -1 with a TypeError
 * naming it. */
static int float_type(PyObject *obj, const char *name) {
    if (!PyArray_Check(obj)) {
        PyErr_Format(PyExc_TypeError, "%s must be a numpy array", name);
        return -1;
    }
    int type = PyArray_TYPE((PyArrayObject *)obj);
    if (type != NPY_FLOAT32 && type != NPY_FLOAT64) {
        PyErr_Format(PyExc_TypeError, "%s must hold float32 or float64", name);
        return -1;
    }
    return type;
}

/* obj as an aligned C-contiguous float32 or float64 array (a new reference): such arrays as
 * they are, anything else (lists, integers, strided views) converted to float64 by numpy,
 * with numpy's errors. */
static PyArrayObject *float_array(PyObject *obj) {
    if (PyArray_Check(obj)) {
        PyArrayObject *a = (PyArrayObject *)obj;
        int type = PyArray_TYPE(a);
        if ((type == NPY_FLOAT32 || type == NPY_FLOAT64) && PyArray_IS_C_CONTIGUOUS(a) && PyArray_ISALIGNED(a)) {
            Py_INCREF(obj);
            return a;
        }
    }
    return (PyArrayObject *)PyArray_FROMANY(obj, NPY_FLOAT64, 0, 0, NPY_ARRAY_CARRAY_RO);
}

/* 0 if arrays a and b have the same shape, else -1 with a ValueError naming a's. */
static int same_shape(PyObject *a, PyObject *b, const char *name) {
    PyArrayObject *x = (PyArrayObject *)a, *y = (PyArrayObject *)b;
    if (PyArray_NDIM(x) == PyArray_NDIM(y) && PyArray_CompareLists(PyArray_DIMS(x), PyArray_DIMS(y), PyArray_NDIM(x))) return 0;
    PyObject *want = PyObject_GetAttrString(b, "shape"), *got = want ? PyObject_GetAttrString(a, "shape") : NULL;
    if (got) PyErr_Format(PyExc_ValueError, "%s must have shape %R, got %R", name, want, got);
    Py_XDECREF(want);
    Py_XDECREF(got);
    return -1;
}

/* Item i of float data of that dtype, as a double. */
static inline double float_at(const void *data, int type, Py_ssize_t i) {
    return type == NPY_FLOAT32 ? (double)((const float *)data)[i] : ((const double *)data)[i];
}

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
    const double *d = array_data(args[0], NPY_FLOAT64, -1, 0, "raw");
    if (!d) return NULL;
    Py_ssize_t n = size_of(args[0]);
    const float *g = NULL, *s = NULL;
    if (args[1] != Py_None && !(g = array_data(args[1], NPY_FLOAT32, n, 0, "gain"))) return NULL;
    if (args[2] != Py_None && !(s = array_data(args[2], NPY_FLOAT32, n, 0, "shift"))) return NULL;
    float *r = array_data(args[3], NPY_FLOAT32, n, 1, "out");
    if (!r) return NULL;
    double range_min = PyFloat_AsDouble(args[4]), range_max = PyFloat_AsDouble(args[5]), no_return = PyFloat_AsDouble(args[6]);
    if (PyErr_Occurred()) return NULL;
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
    Py_RETURN_NONE;
}

/* ------------------------------------------------------------------------------------ */
/* add_clip(x, noise, low, high) -> new array
 * add_clip_row(x, block, low, high, row) -> new array
 *
 * min(max(x + noise, low), high) as a new array shaped like x, in x's dtype (float32 or
 * float64, which the other three share), with numpy's maximum and minimum semantics (NaN
 * propagates): a noisy action or observation kept inside its box, in one call instead of
 * numpy's three. add_clip_row takes the noise as row `row` of a block of pre-drawn rows
 * (one per step, each of x's size): a step then makes no view of its row.
 */
#define ADD_CLIP_LOOP(T)                                                                \
    do {                                                                                \
        const T *a = PyArray_DATA((PyArrayObject *)args[0]), *b = nz, *lo = l, *hi = h; \
        T *r = PyArray_DATA((PyArrayObject *)out);                                      \
        for (Py_ssize_t i = 0; i < n; i++) {                                            \
            T v = a[i] + b[i];                                                          \
            v = (v >= lo[i] || isnan(v)) ? v : lo[i];                                   \
            r[i] = (v <= hi[i] || isnan(v)) ? v : hi[i];                                \
        }                                                                               \
    } while (0)

/* Row `row` (a Python int) of `block`, a C-contiguous array of `type` whose size is a
 * multiple of n, read as rows of n items; else NULL with an exception. */
static const void *block_row(PyObject *block, int type, Py_ssize_t n, PyObject *row) {
    const char *data = array_data(block, type, -1, 0, "noise");
    if (!data) return NULL;
    Py_ssize_t k = PyLong_AsSsize_t(row), rows = n ? size_of(block) / n : 0;
    if (k == -1 && PyErr_Occurred()) return NULL;
    if (size_of(block) != rows * n || k < 0 || k >= rows) {
        PyErr_Format(PyExc_ValueError, "noise block of %zd items has no row %zd of %zd items", size_of(block), k, n);
        return NULL;
    }
    return data + k * n * PyArray_ITEMSIZE((PyArrayObject *)block);
}

static PyObject *add_clip(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    if (nargs != 5 && check_nargs(nargs, 4, "add_clip") < 0) return NULL;  /* 5: add_clip_row */
    int type = float_type(args[0], "x");
    if (type < 0 || !array_data(args[0], type, -1, 0, "x")) return NULL;
    Py_ssize_t n = size_of(args[0]);
    const void *nz = nargs == 4 ? array_data(args[1], type, n, 0, "noise") : block_row(args[1], type, n, args[4]);
    const void *l = nz ? array_data(args[2], type, n, 0, "low") : NULL;
    const void *h = l ? array_data(args[3], type, n, 0, "high") : NULL;
    if (!h) return NULL;
    PyObject *out = PyArray_NewLikeArray((PyArrayObject *)args[0], NPY_CORDER, NULL, 0);
    if (!out) return NULL;
    if (type == NPY_FLOAT32) ADD_CLIP_LOOP(float);
    else ADD_CLIP_LOOP(double);
    return out;
}

static PyObject *add_clip_row(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    if (check_nargs(nargs, 5, "add_clip_row") < 0) return NULL;
    return add_clip(self, args, nargs);
}

/* ------------------------------------------------------------------------------------ */
/* Per-step kernels. Right after an engine step this process's caches hold the engine's data,
 * and a numpy call that costs 1 us warm costs 5-15 us there (its dispatch and casting code
 * and tables come back from memory); these loops touch a few cache lines instead. */

/* box_action(action, low, high) -> float64 array, or None if an entry is NaN or inf
 *
 * The action (an array or numbers, of low's shape) as a new float64 array inside
 * [low, high]; the caller raises its own error for None. */
static PyObject *box_action(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    if (check_nargs(nargs, 3, "box_action") < 0) return NULL;
    const double *lo = array_data(args[1], NPY_FLOAT64, -1, 0, "low");
    const double *hi = lo ? array_data(args[2], NPY_FLOAT64, size_of(args[1]), 0, "high") : NULL;
    PyArrayObject *a = hi ? float_array(args[0]) : NULL;
    if (!a) return NULL;
    PyObject *out = NULL;
    if (same_shape((PyObject *)a, args[1], "action") == 0)
        out = PyArray_NewLikeArray(a, NPY_CORDER, PyArray_DescrFromType(NPY_FLOAT64), 0);
    if (out) {
        const void *v = PyArray_DATA(a);
        int type = PyArray_TYPE(a);
        double *r = PyArray_DATA((PyArrayObject *)out);
        for (Py_ssize_t i = 0, n = PyArray_SIZE(a); i < n; i++) {
            double x = float_at(v, type, i);
            if (!isfinite(x)) {
                Py_DECREF(out);
                out = Py_NewRef(Py_None);
                break;
            }
            r[i] = x < lo[i] ? lo[i] : (x > hi[i] ? hi[i] : x);
        }
    }
    Py_DECREF(a);
    return out;
}

/* put(dst, index, values, low, high) -> int
 *
 * dst[index[i]] = values[i] (dst float64; values an array or numbers, one per index),
 * clipped to [low[i], high[i]] unless low and high are None. Returns how many entries
 * changed, or -1 with dst untouched if a value is NaN or inf. */
static PyObject *put(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    if (check_nargs(nargs, 5, "put") < 0) return NULL;
    double *dst = array_data(args[0], NPY_FLOAT64, -1, 1, "dst");
    const Py_ssize_t *idx = dst ? array_data(args[1], NPY_INTP, -1, 0, "index") : NULL;
    if (!idx) return NULL;
    Py_ssize_t n = size_of(args[1]), size = size_of(args[0]);
    const double *lo = NULL, *hi = NULL;
    if (args[3] != Py_None || args[4] != Py_None) {
        lo = array_data(args[3], NPY_FLOAT64, n, 0, "low");
        hi = lo ? array_data(args[4], NPY_FLOAT64, n, 0, "high") : NULL;
        if (!hi) return NULL;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        if (idx[i] < 0 || idx[i] >= size) {
            PyErr_Format(PyExc_IndexError, "index %zd is out of bounds for dst of size %zd", idx[i], size);
            return NULL;
        }
    }
    PyArrayObject *values = float_array(args[2]);
    if (!values) return NULL;
    if (PyArray_NDIM(values) != 1 || PyArray_SIZE(values) != n) {
        PyErr_Format(PyExc_ValueError, "%zd entries but values of %d dimensions and %zd items", n, PyArray_NDIM(values),
                     (Py_ssize_t)PyArray_SIZE(values));
        Py_DECREF(values);
        return NULL;
    }
    const void *v = PyArray_DATA(values);
    int type = PyArray_TYPE(values);
    long changed = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        if (!isfinite(float_at(v, type, i))) {
            changed = -1;
            break;
        }
    }
    for (Py_ssize_t i = 0; i < n && changed >= 0; i++) {
        double x = float_at(v, type, i);
        if (lo) x = x < lo[i] ? lo[i] : (x > hi[i] ? hi[i] : x);
        changed += dst[idx[i]] != x;
        dst[idx[i]] = x;
    }
    Py_DECREF(values);
    return PyLong_FromLong(changed);
}

/* pose_rows(values) -> (pos, quat)
 *
 * A flat list of PyBullet poses, 7 floats each (x, y, z, qx, qy, qz, qw), as an (n, 3)
 * position array and an (n, 4) quaternion array in SimSuite's (w, x, y, z) order. */
static PyObject *pose_rows(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    if (check_nargs(nargs, 1, "pose_rows") < 0) return NULL;
    PyObject *values = args[0];
    if (!PyList_Check(values) || PyList_GET_SIZE(values) % 7 != 0) {
        PyErr_SetString(PyExc_TypeError, "values must be a list of 7 floats per pose");
        return NULL;
    }
    npy_intp n = PyList_GET_SIZE(values) / 7, dp[2] = {n, 3}, dq[2] = {n, 4};
    PyObject *pos = PyArray_SimpleNew(2, dp, NPY_FLOAT64), *quat = pos ? PyArray_SimpleNew(2, dq, NPY_FLOAT64) : NULL;
    if (!quat) {
        Py_XDECREF(pos);
        return NULL;
    }
    double *p = PyArray_DATA((PyArrayObject *)pos), *q = PyArray_DATA((PyArrayObject *)quat);
    static const int to[7] = {0, 1, 2, 4, 5, 6, 3};  /* x y z | qx qy qz qw -> w first */
    for (npy_intp i = 0; i < n; i++) {
        for (int k = 0; k < 7; k++) {
            double x = PyFloat_AsDouble(PyList_GET_ITEM(values, 7 * i + k));
            if (x == -1.0 && PyErr_Occurred()) {
                Py_DECREF(pos);
                Py_DECREF(quat);
                return NULL;
            }
            if (k < 3) p[3 * i + k] = x;
            else q[4 * i + to[k] - 3] = x;
        }
    }
    return Py_BuildValue("(NN)", pos, quat);
}

/* joint_columns(states, slots) -> (q, qd)
 *
 * Positions and velocities from PyBullet's getJointStates answer (one (q, qd, reaction,
 * torque) tuple per joint): q[k] = states[slots[k]][0], qd[k] = states[slots[k]][1]. */
static PyObject *joint_columns(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    if (check_nargs(nargs, 2, "joint_columns") < 0) return NULL;
    PyObject *states = args[0], *slots = args[1];
    if (!PyTuple_Check(states) && !PyList_Check(states)) {
        PyErr_SetString(PyExc_TypeError, "states must be getJointStates' answer");
        return NULL;
    }
    if (!PyList_Check(slots)) {
        PyErr_SetString(PyExc_TypeError, "slots must be a list of ints");
        return NULL;
    }
    npy_intp n = PyList_GET_SIZE(slots);
    Py_ssize_t n_states = PySequence_Fast_GET_SIZE(states);
    PyObject *q = PyArray_SimpleNew(1, &n, NPY_FLOAT64), *qd = q ? PyArray_SimpleNew(1, &n, NPY_FLOAT64) : NULL;
    if (!qd) {
        Py_XDECREF(q);
        return NULL;
    }
    double *a = PyArray_DATA((PyArrayObject *)q), *b = PyArray_DATA((PyArrayObject *)qd);
    for (npy_intp k = 0; k < n; k++) {
        Py_ssize_t slot = PyLong_AsSsize_t(PyList_GET_ITEM(slots, k));
        if (slot == -1 && PyErr_Occurred()) goto fail;
        if (slot < 0 || slot >= n_states) {
            PyErr_Format(PyExc_IndexError, "slot %zd is out of bounds for %zd joint states", slot, n_states);
            goto fail;
        }
        PyObject *state = PySequence_Fast_ITEMS(states)[slot];
        if (!PyTuple_Check(state) || PyTuple_GET_SIZE(state) < 2) {
            PyErr_SetString(PyExc_TypeError, "each joint state must be a tuple (q, qd, ...)");
            goto fail;
        }
        a[k] = PyFloat_AsDouble(PyTuple_GET_ITEM(state, 0));
        b[k] = PyFloat_AsDouble(PyTuple_GET_ITEM(state, 1));
        if ((a[k] == -1.0 || b[k] == -1.0) && PyErr_Occurred()) goto fail;
    }
    return Py_BuildValue("(NN)", q, qd);
fail:
    Py_DECREF(q);
    Py_DECREF(qd);
    return NULL;
}

/* concat(arrays) -> new float64 array
 *
 * Every entry of a sequence of arrays (or numbers), one after another, as one flat float64
 * array: np.concatenate(arrays, axis=None, dtype=np.float64), the usual way to build a
 * state observation from an engine's reads. */
static PyObject *concat(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    if (check_nargs(nargs, 1, "concat") < 0) return NULL;
    PyObject *seq = PySequence_Fast(args[0], "arrays must be a sequence of arrays");
    if (!seq) return NULL;
    Py_ssize_t k = PySequence_Fast_GET_SIZE(seq);
    PyArrayObject **parts = k > 0 ? PyMem_Malloc(k * sizeof(*parts)) : NULL;
    if (!parts) {
        Py_DECREF(seq);
        if (k == 0) PyErr_SetString(PyExc_ValueError, "need at least one array to concatenate");  /* as numpy says */
        else PyErr_NoMemory();
        return NULL;
    }
    npy_intp total = 0;
    Py_ssize_t got = 0;
    PyObject *out = NULL;
    for (; got < k; got++) {
        parts[got] = (PyArrayObject *)PyArray_FROMANY(PySequence_Fast_ITEMS(seq)[got], NPY_FLOAT64, 0, 0, NPY_ARRAY_CARRAY_RO);
        if (!parts[got]) goto done;
        total += PyArray_SIZE(parts[got]);
    }
    out = PyArray_SimpleNew(1, &total, NPY_FLOAT64);
    if (out) {
        char *r = PyArray_DATA((PyArrayObject *)out);
        for (Py_ssize_t i = 0; i < k; i++) {
            size_t bytes = (size_t)PyArray_SIZE(parts[i]) * sizeof(double);
            memcpy(r, PyArray_DATA(parts[i]), bytes);
            r += bytes;
        }
    }
done:
    for (Py_ssize_t i = 0; i < got; i++) Py_DECREF(parts[i]);
    PyMem_Free(parts);
    Py_DECREF(seq);
    return out;
}

/* take(src, index) -> new float64 array
 *
 * Rows index[i] of src (float64, 1-D or 2-D C-contiguous), as numpy's src.take(index, 0). */
static PyObject *take(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    if (check_nargs(nargs, 2, "take") < 0) return NULL;
    const double *src = array_data(args[0], NPY_FLOAT64, -1, 0, "src");
    const Py_ssize_t *idx = src ? array_data(args[1], NPY_INTP, -1, 0, "index") : NULL;
    if (!idx) return NULL;
    PyArrayObject *s = (PyArrayObject *)args[0];
    int ndim = PyArray_NDIM(s);
    if (ndim != 1 && ndim != 2) {
        PyErr_SetString(PyExc_ValueError, "src must be 1-D or 2-D");
        return NULL;
    }
    Py_ssize_t rows = PyArray_DIM(s, 0), width = ndim == 2 ? PyArray_DIM(s, 1) : 1, n = size_of(args[1]);
    npy_intp dims[2] = {n, width};
    PyObject *out = PyArray_SimpleNew(ndim, dims, NPY_FLOAT64);
    if (!out) return NULL;
    double *r = PyArray_DATA((PyArrayObject *)out);
    for (Py_ssize_t i = 0; i < n; i++) {
        if (idx[i] < 0 || idx[i] >= rows) {
            Py_DECREF(out);
            PyErr_Format(PyExc_IndexError, "index %zd is out of bounds for src with %zd rows", idx[i], rows);
            return NULL;
        }
        memcpy(r + i * width, src + idx[i] * width, width * sizeof(double));
    }
    return out;
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
    Py_ssize_t *u = NULL, *l = NULL;
    double *f = NULL;
    if (args[2] != Py_None && !(u = array_data(args[2], NPY_INTP, n, 1, "uid"))) return NULL;
    if (args[3] != Py_None && !(l = array_data(args[3], NPY_INTP, n, 1, "link"))) return NULL;
    if (args[4] != Py_None && !(f = array_data(args[4], NPY_FLOAT64, n, 1, "fraction"))) return NULL;
    Py_ssize_t i = 0;
    for (Py_ssize_t c = 0; c < PyList_GET_SIZE(chunks); c++) {
        PyObject *chunk = PyList_GET_ITEM(chunks, c);
        if (!PyTuple_Check(chunk)) {
            PyErr_SetString(PyExc_TypeError, "each chunk must be a tuple of per-ray tuples");
            return NULL;
        }
        Py_ssize_t m = PyTuple_GET_SIZE(chunk);
        if (i + m > n) {
            PyErr_Format(PyExc_ValueError, "the chunks hold more than %zd rays", n);
            return NULL;
        }
        for (Py_ssize_t k = 0; k < m; k++, i++) {
            PyObject *ray = PyTuple_GET_ITEM(chunk, k);
            if (!PyTuple_Check(ray) || PyTuple_GET_SIZE(ray) < 3) {
                PyErr_SetString(PyExc_TypeError, "a ray's answer must be a tuple (uid, link, fraction, ...)");
                return NULL;
            }
            if (u) u[i] = PyLong_AsSsize_t(PyTuple_GET_ITEM(ray, 0));
            if (l) l[i] = PyLong_AsSsize_t(PyTuple_GET_ITEM(ray, 1));
            if (f) f[i] = PyFloat_AsDouble(PyTuple_GET_ITEM(ray, 2));
        }
        if (PyErr_Occurred()) return NULL;
    }
    if (i != n) {
        PyErr_Format(PyExc_ValueError, "the chunks hold %zd rays, expected %zd", i, n);
        return NULL;
    }
    Py_RETURN_NONE;
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
    const Py_ssize_t *ids = array_data(args[0], NPY_INTP, -1, 0, "uid");
    if (!ids) return NULL;
    Py_ssize_t n = size_of(args[0]);
    const double *fr = array_data(args[1], NPY_FLOAT64, n, 0, "fraction");
    const double *F = fr ? array_data(args[2], NPY_FLOAT64, -1, 0, "frames") : NULL;
    if (!F) return NULL;
    Py_ssize_t rows = size_of(args[2]) / 12;
    if (rows < 1 || rows * 12 != size_of(args[2])) {
        PyErr_SetString(PyExc_ValueError, "frames must be (U + 1, 3, 4)");
        return NULL;
    }
    const double *P = array_data(args[3], NPY_FLOAT64, 16, 0, "pose");
    const double *H = P ? array_data(args[4], NPY_FLOAT64, rows * 3, 0, "halves") : NULL;
    const double *D = H ? array_data(args[5], NPY_FLOAT64, n * 3, 0, "units") : NULL;
    double max_range = D ? PyFloat_AsDouble(args[6]) : 0.0;
    double *dist = D && !PyErr_Occurred() ? array_data(args[7], NPY_FLOAT64, n, 1, "out") : NULL;
    if (!dist) return NULL;
    double *table = malloc(sizeof(double) * 12 * rows);
    if (!table) return PyErr_NoMemory();
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
    free(table);
    Py_RETURN_NONE;
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
    const double *v = array_data(args[0], NPY_FLOAT64, -1, 0, "rays");
    if (!v) return NULL;
    Py_ssize_t n = size_of(args[0]) / 3;
    if (n * 3 != size_of(args[0])) {
        PyErr_SetString(PyExc_ValueError, "rays must be (N, 3)");
        return NULL;
    }
    const double *o = array_data(args[1], NPY_FLOAT64, 3, 0, "offset");
    const double *R = o ? array_data(args[2], NPY_FLOAT64, 9, 0, "rot") : NULL;
    const double *p = R ? array_data(args[3], NPY_FLOAT64, 3, 0, "pos") : NULL;
    double *d = p ? array_data(args[4], NPY_FLOAT64, 3 * n, 1, "directions") : NULL;
    double *org = d ? array_data(args[5], NPY_FLOAT64, 3, 1, "origin") : NULL;
    if (!org) return NULL;
    for (Py_ssize_t i = 0; i < n; i++, v += 3, d += 3)
        for (int r = 0; r < 3; r++) d[r] = v[0] * R[3 * r] + v[1] * R[3 * r + 1] + v[2] * R[3 * r + 2];
    for (int r = 0; r < 3; r++) org[r] = (o[0] * R[3 * r] + o[1] * R[3 * r + 1] + o[2] * R[3 * r + 2]) + p[r];
    Py_RETURN_NONE;
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
    const double *o = array_data(args[2], NPY_FLOAT64, 3, 0, "offset");
    double *T = o ? array_data(args[3], NPY_FLOAT64, 16, 1, "out") : NULL;
    if (!T) return NULL;
    double x = q[0], y = q[1], z = q[2], w = q[3];
    double s = 2.0 / (x * x + y * y + z * z + w * w);
    double xs = x * s, ys = y * s, zs = z * s;
    double wx = w * xs, wy = w * ys, wz = w * zs, xx = x * xs, xy = x * ys, xz = x * zs;
    double yy = y * ys, yz = y * zs, zz = z * zs;
    double R[9] = {1.0 - (yy + zz), xy - wz, xz + wy, xy + wz, 1.0 - (xx + zz), yz - wx, xz - wy, yz + wx, 1.0 - (xx + yy)};
    for (int r = 0; r < 3; r++) {
        T[4 * r] = R[3 * r], T[4 * r + 1] = R[3 * r + 1], T[4 * r + 2] = R[3 * r + 2];
        T[4 * r + 3] = p[r] + (R[3 * r] * o[0] + R[3 * r + 1] * o[1] + R[3 * r + 2] * o[2]);
    }
    T[12] = T[13] = T[14] = 0.0, T[15] = 1.0;
    Py_RETURN_NONE;
}

/* ------------------------------------------------------------------------------------ */

#define KERNEL(name, doc) {#name, (PyCFunction)(void (*)(void))name, METH_FASTCALL, #name doc}

static PyMethodDef methods[] = {
    KERNEL(lidar_readings, "(raw, gain, shift, out, range_min_m, range_max_m, no_return): LIDAR readings from engine distances"),
    KERNEL(ray_columns, "(chunks, n, uid, link, fraction): columns of PyBullet's rayTestBatch answer"),
    KERNEL(box_entries, "(uid, fraction, frames, pose, halves, units, max_range_m, out): exact ray entries into boxes"),
    KERNEL(pose_rays, "(rays, offset, rot, pos, directions, origin): a ray fan placed on its body"),
    KERNEL(frame_pose, "(pos, quat_xyzw, offset, out): the 4x4 pose of an offset frame on a body"),
    KERNEL(add_clip, "(x, noise, low, high): min(max(x + noise, low), high) as a new array"),
    KERNEL(add_clip_row, "(x, block, low, high, row): add_clip with noise block[row]"),
    KERNEL(box_action, "(action, low, high): the action as float64 inside [low, high], or None if not finite"),
    KERNEL(put, "(dst, index, values, low, high): dst[index] = values (clipped), entries changed or -1 if not finite"),
    KERNEL(pose_rows, "(values): PyBullet poses (7 floats each) as (n, 3) positions and (n, 4) w-first quaternions"),
    KERNEL(joint_columns, "(states, slots): positions and velocities from getJointStates' answer"),
    KERNEL(take, "(src, index): rows of a float64 array, as src.take(index, 0)"),
    KERNEL(concat, "(arrays): every entry of the arrays, one after another, as one flat float64 array"),
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, .m_name = "simsuite._native", .m_doc = "SimSuite's optional C kernels (see _native.c).", .m_size = -1, .m_methods = methods,
};

PyMODINIT_FUNC PyInit__native(void) {
    import_array();
    return PyModule_Create(&module);
}
