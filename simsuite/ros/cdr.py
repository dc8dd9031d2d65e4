"""Preallocated CDR messages: serialize once, then patch the fields that change in place.

A bridge step publishes the same six messages every 0.1 s with only stamps, poses and
readings changed. Building rosbags message objects and serializing them costs about
0.1 ms per message; a :class:`CdrTemplate` serializes a message once (with rosbags, so the
bytes are exactly what rosbags writes) and computes the byte offset of every numeric field
from the message definition and CDR's alignment rules. Per step, :meth:`CdrTemplate.field`
gives a numpy view onto those bytes: assigning to it *is* the serialization.

The layout is fixed by the template's strings and sequence lengths (frame ids, joint names,
the number of LIDAR beams, the image size): a message whose sizes change needs a new
template (the bridge falls back to rosbags for point clouds, whose size varies).

CDR (XCDR1, little endian, the 4-byte encapsulation header first): a primitive is aligned to
its size (at most 8) relative to the end of the header; a string or sequence starts with a
uint32 count aligned to 4; a string carries its NUL.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from rosbags.typesys.store import Nodetype

from simsuite.ros import messages as M

_HEADER = 4  # the encapsulation header (00 01 00 00: CDR little endian)
_BASE = {"bool": np.uint8, "byte": np.uint8, "char": np.uint8, "int8": np.int8, "uint8": np.uint8, "int16": np.int16,
         "uint16": np.uint16, "int32": np.int32, "uint32": np.uint32, "int64": np.int64, "uint64": np.uint64,
         "float32": np.float32, "float64": np.float64}
Field = tuple[int, np.dtype, int]  # byte offset in the buffer, element type, element count


def _align(pos: int, size: int) -> int:
    return pos + (-pos) % size


def layout(msg: Any, msgtype: str | None = None) -> tuple[dict[str, Field], int]:
    """Every numeric field of ``msg`` as ``path -> (offset, dtype, count)`` (paths like
    ``header.stamp.sec``, ``transforms.0.transform.rotation``; a run of numbers such as a
    Vector3 or an array is also one field: ``twist.twist.linear`` covers x, y, z), and the
    serialized size. Offsets count from the start of the buffer, header included."""
    fields: dict[str, Field] = {}
    end = _walk(msg, msgtype or msg.__msgtype__, "", 0, fields)
    return fields, _HEADER + end


def _walk(msg: Any, msgtype: str, prefix: str, pos: int, out: dict[str, Field]) -> int:
    """Add the fields of one (nested) message at payload position ``pos``; returns its end."""
    _consts, defs = M.typestore().fielddefs[msgtype]
    if not defs:  # an empty message is one uint8
        return pos + 1
    for name, (kind, rest) in defs:
        pos = _walk_field(kind, rest, getattr(msg, name), f"{prefix}{name}", pos, out)
    # a message of same-typed numbers without gaps (Vector3, Quaternion, Point) is also one run
    leaves = [out.get(f"{prefix}{name}") for name, (kind, _) in defs]
    if prefix and all(leaf is not None and leaf[2] == 1 and kind == Nodetype.BASE for leaf, (_, (kind, _)) in zip(leaves, defs)):
        dtype = leaves[0][1]
        if all(leaf[1] == dtype and leaf[0] == leaves[0][0] + i * dtype.itemsize for i, leaf in enumerate(leaves)):
            out[prefix[:-1]] = (leaves[0][0], dtype, len(leaves))
    return pos


def _walk_field(kind, rest, value, path: str, pos: int, out: dict[str, Field]) -> int:
    if kind == Nodetype.BASE:
        name, _bound = rest
        if name == "string":
            return _align(pos, 4) + 4 + len(value.encode()) + 1
        dtype = np.dtype(_BASE[name])
        pos = _align(pos, dtype.itemsize)
        out[path] = (_HEADER + pos, dtype, 1)
        return pos + dtype.itemsize
    if kind == Nodetype.NAME:
        return _walk(value, rest, f"{path}.", pos, out)
    sub, _n = rest
    if kind == Nodetype.SEQUENCE:
        pos = _align(pos, 4) + 4
    sub_kind, sub_rest = sub
    if sub_kind == Nodetype.BASE and sub_rest[0] != "string":
        dtype = np.dtype(_BASE[sub_rest[0]])
        if len(value):
            pos = _align(pos, dtype.itemsize)
        out[path] = (_HEADER + pos, dtype, len(value))
        return pos + dtype.itemsize * len(value)
    for i, item in enumerate(value):
        pos = _walk_field(sub_kind, sub_rest, item, f"{path}.{i}", pos, out)
    return pos


class CdrTemplate:
    """One message's CDR bytes, reused: patch numeric fields through :meth:`field` views,
    then send :attr:`data`. Sizes (strings, sequence lengths) are those of the template."""

    def __init__(self, msg: Any, msgtype: str | None = None):
        self.msgtype = msgtype or msg.__msgtype__
        data = M.serialize(msg, self.msgtype)
        self.fields, size = layout(msg, self.msgtype)
        if size != len(data):
            raise AssertionError(f"CDR layout of {self.msgtype} is {size} bytes, rosbags wrote {len(data)}")
        self.buffer = bytearray(data + b"\0" * ((-len(data)) % 4))  # DDS wants the payload padded to 4 bytes
        self.data = memoryview(self.buffer)
        self.size = len(data)

    def field(self, path: str) -> np.ndarray:
        """A writable view of one field's values in the buffer (a 1-element array for a scalar)."""
        try:
            offset, dtype, count = self.fields[path]
        except KeyError:
            raise KeyError(f"{self.msgtype} has no numeric field {path!r}; fields: {sorted(self.fields)}") from None
        return np.frombuffer(self.buffer, dtype=dtype, count=count, offset=offset)

    def stamp(self, path: str = "header.stamp") -> "StampView":
        return StampView(self.field(f"{path}.sec").view(np.int32)[:1], self.field(f"{path}.nanosec"))

    def bytes(self) -> bytes:
        """The message as rosbags would serialize it (without the DDS padding)."""
        return bytes(self.buffer[: self.size])


class StampView:
    """builtin_interfaces/Time inside a template: ``set(t_s)`` writes sec and nanosec."""

    __slots__ = ("_sec", "_nsec")

    def __init__(self, sec: np.ndarray, nsec: np.ndarray):
        self._sec, self._nsec = sec, nsec

    def set(self, t_s: float) -> None:
        sec, nsec = divmod(int(round(t_s * 1e9)), 1_000_000_000)
        self._sec[0], self._nsec[0] = sec, nsec


class Outgoing:
    """A message the bridge sends every step, kept serialized: :meth:`fill` patches its stamp
    and named fields (``Outgoing(M.imu(...), {"gyro": "angular_velocity"})`` then
    ``fill(t, gyro=w)``) and returns the template to send."""

    __slots__ = ("template", "stamp", "_views")

    def __init__(self, msg: Any, fields: dict[str, str], stamp: str = "header.stamp"):
        self.template = CdrTemplate(msg)
        self.stamp = self.template.stamp(stamp)
        self._views = {name: self.template.field(path) for name, path in fields.items()}

    def view(self, name: str) -> np.ndarray:
        """The named field's view, for loops that patch it many times."""
        return self._views[name]

    def fill(self, t_s: float, **values: Any) -> CdrTemplate:
        self.stamp.set(t_s)
        views = self._views
        for name, value in values.items():
            views[name][:] = value
        return self.template
