"""Transports: how messages reach a ROS graph. One interface, three implementations.

- ``"dds"`` (default, no ROS installation): Cyclone DDS through the ``cyclonedds`` package.
  Topics are ``rt/<name>`` with DDS types ``pkg::msg::dds_::Type_``, generated from rosbags'
  message definitions (:func:`dds_type`), so a real ROS 2 node on the same domain sees
  ordinary topics. Samples are encoded by rosbags (about 6× faster than Cyclone's Python
  types for a 640×480 image) and written as CDR bytes.
- ``"rclpy"``: a real ROS 2 node (a sourced ROS 2, or the ``ros-jazzy-*`` wheels); the same
  CDR bytes go through rclpy's serialized publish and raw subscriptions
  (:mod:`simsuite.ros.rclpy_transport`).
- ``"ros1"``: rospy (:mod:`simsuite.ros.ros1`), on the same message objects converted to ROS 1.

Every transport publishes and receives rosbags message objects (:mod:`simsuite.ros.messages`).
A subscription's callback receives each decoded message in the transport's receive thread;
a sample that does not decode is handed to ``on_reject`` with the reason instead.
"""

from __future__ import annotations

import logging
import os
import threading
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable

from simsuite.ros import messages
from simsuite.ros.netns import cyclone_config

if TYPE_CHECKING:
    from simsuite.ros.cdr import CdrTemplate

log = logging.getLogger("simsuite.ros")

TRANSPORTS = ("dds", "rclpy", "ros1")

Callback = Callable[[Any], None]
RejectCallback = Callable[[str, str], None]  # (topic, reason)


@dataclass(frozen=True)
class Qos:
    """The QoS that matters here. Reliable writers reach reliable and best-effort readers alike."""

    reliable: bool = True
    depth: int = 10
    transient_local: bool = False  # latched: /tf_static, metadata


class Publisher(ABC):
    def __init__(self, topic: str, msgtype: str):
        self.topic, self.msgtype = topic, msgtype

    def publish(self, msg: Any) -> bytes:
        """Encode once and send; returns the CDR bytes (the recorder reuses them)."""
        data = messages.serialize(msg, self.msgtype)
        self.publish_cdr(data)
        return data

    @abstractmethod
    def publish_cdr(self, data: bytes) -> None:
        """Send an already CDR-encoded sample."""

    def publish_template(self, message: "CdrTemplate") -> None:
        """Send a preallocated message (:class:`simsuite.ros.cdr.CdrTemplate`) as it is now."""
        self.publish_cdr(message.bytes())

    def subscriber_count(self) -> int:
        """Subscribers matched now (-1 where the transport cannot tell)."""
        return -1


class Transport(ABC):
    kind: str = ""

    @abstractmethod
    def publisher(self, topic: str, msgtype: str, qos: Qos = Qos()) -> Publisher: ...

    @abstractmethod
    def subscribe(self, topic: str, msgtype: str, callback: Callback, on_reject: RejectCallback | None = None, qos: Qos = Qos()) -> None: ...

    def publisher_count(self, topic: str) -> int:
        """Publishers matched now by this transport's subscription on ``topic`` (-1 if unknown)."""
        return -1

    def close(self) -> None:
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def make_transport(kind: str = "dds", *, node_name: str = "simsuite", domain_id: int | None = None, interface: str | None = None) -> Transport:
    """A transport by name: ``"dds"`` (Cyclone, default), ``"rclpy"`` or ``"ros1"``.

    ``interface`` (DDS only) is the network interface Cyclone binds to; the default is the
    loopback, so nothing leaves the machine unless a user names a real interface.
    """
    if kind == "dds":
        return CycloneTransport(domain_id=domain_id, interface=interface)
    if kind == "rclpy":
        from simsuite.ros.rclpy_transport import RclpyTransport

        return RclpyTransport(node_name, domain_id=domain_id)
    if kind == "ros1":
        from simsuite.ros.ros1 import Ros1Transport

        return Ros1Transport(node_name)
    raise ValueError(f"unknown transport {kind!r}; choose one of {TRANSPORTS}")


def default_domain_id() -> int:
    value = os.environ.get("ROS_DOMAIN_ID", "0") or "0"
    if not value.isdigit() or not 0 <= int(value) <= 232:
        raise ValueError(f"ROS_DOMAIN_ID must be an integer in 0..232, got {value!r}")
    return int(value)


def reject(on_reject: RejectCallback | None, topic: str, reason: str) -> None:
    log.warning("rejected a message on %s: %s", topic, reason)
    if on_reject is not None:
        on_reject(topic, reason)


def deliver(topic: str, what: str, decode: Callable[[], Any], callback: Callback, on_reject: RejectCallback | None) -> None:
    """Decode one incoming message and hand it to ``callback``: a message that does not decode
    is rejected with its reason, and a failing callback is logged; neither may kill the
    transport's receive thread."""
    try:
        msg = decode()
    except Exception as exc:  # noqa: BLE001 - a malformed message: reject, keep the node alive
        reject(on_reject, topic, f"undecodable {what}: {type(exc).__name__}: {exc}")
        return
    try:
        callback(msg)
    except Exception:  # noqa: BLE001
        log.exception("callback for %s failed", topic)


# ---------------------------------------------------------------------------
# Cyclone DDS


_DDS_TYPES: dict[str, type] = {}
_DDS_LOCK = threading.Lock()


def dds_name(msgtype: str) -> str:
    """``sensor_msgs/msg/LaserScan`` -> ``sensor_msgs::msg::dds_::LaserScan_`` (ROS 2's DDS type name)."""
    pkg, kind, name = msgtype.split("/")
    return f"{pkg}::{kind}::dds_::{name}_"


def dds_topic(topic: str) -> str:
    """ROS 2's DDS topic name for a ROS topic: ``/scan`` -> ``rt/scan``."""
    if not topic.startswith("/"):
        topic = "/" + topic
    return "rt" + topic


def dds_type(msgtype: str) -> type:
    """The Cyclone IDL struct of a ROS 2 message type, generated from rosbags' definition
    (field names, types, bounds and order as ROS 2's generated IDL has them)."""
    with _DDS_LOCK:
        return _dds_type(msgtype)


def _dds_type(msgtype: str) -> type:
    if msgtype in _DDS_TYPES:
        return _DDS_TYPES[msgtype]
    from cyclonedds.idl import make_idl_struct

    _consts, fields = messages.typestore().fielddefs[msgtype]
    annotations = {name: _field_type(desc) for name, desc in fields}
    if not annotations:  # an empty ROS message is a struct with one uint8, as rosidl generates it
        from cyclonedds.idl.types import uint8

        annotations = {"structure_needs_at_least_one_member": uint8}
    cls = make_idl_struct(msgtype.rsplit("/", 1)[-1] + "_", dds_name(msgtype), annotations)
    _DDS_TYPES[msgtype] = cls
    return cls


def _field_type(desc) -> Any:
    from cyclonedds.idl import types as t
    from rosbags.typesys.store import Nodetype

    base = {"bool": bool, "byte": t.uint8, "char": t.uint8, "int8": t.int8, "uint8": t.uint8, "int16": t.int16,
            "uint16": t.uint16, "int32": t.int32, "uint32": t.uint32, "int64": t.int64, "uint64": t.uint64,
            "float32": t.float32, "float64": t.float64, "string": str}
    kind, rest = desc
    if kind == Nodetype.BASE:
        name, bound = rest
        if name not in base:
            raise ValueError(f"ROS field type {name!r} has no DDS mapping here")
        return t.bounded_str[bound] if name == "string" and bound else base[name]
    if kind == Nodetype.NAME:
        return _dds_type(rest)
    sub, n = rest
    if kind == Nodetype.ARRAY:
        return t.array[_field_type(sub), n]
    return t.sequence[_field_type(sub), n] if n else t.sequence[_field_type(sub)]


class _CyclonePublisher(Publisher):
    def __init__(self, topic: str, msgtype: str, writer):
        super().__init__(topic, msgtype)
        from cyclonedds._clayer import ddspy_write

        self._writer, self._write = writer, ddspy_write

    def subscriber_count(self) -> int:
        return len(self._writer.get_matched_subscriptions())

    def publish_template(self, message: "CdrTemplate") -> None:
        ret = self._write(self._writer._ref, message.data)  # already padded to 4 bytes: no copy
        if ret < 0:
            raise RuntimeError(f"DDS write on {self.topic} failed with code {ret}")

    def publish_cdr(self, data: bytes) -> None:
        if len(data) % 4:
            data = data + b"\0" * (4 - len(data) % 4)  # Cyclone wants the payload padded to 4 bytes
        ret = self._write(self._writer._ref, data)
        if ret < 0:
            raise RuntimeError(f"DDS write on {self.topic} failed with code {ret}")


class CycloneTransport(Transport):
    """ROS 2 over Cyclone DDS without ROS: one participant bound to ``interface`` (loopback by default)."""

    kind = "dds"

    def __init__(self, domain_id: int | None = None, interface: str | None = None):
        from cyclonedds.domain import Domain, DomainParticipant

        self.domain_id = default_domain_id() if domain_id is None else int(domain_id)
        self.interface = interface or "lo"
        self._domain = Domain(self.domain_id, cyclone_config(interface))
        self._participant = DomainParticipant(self.domain_id)
        self._topics: dict[str, Any] = {}
        self._entities: list[Any] = []
        self._readers: dict[str, Any] = {}

    def _topic(self, topic: str, msgtype: str):
        from cyclonedds.topic import Topic

        key = dds_topic(topic)
        if key in self._topics:
            existing = self._topics[key]
            if existing.data_type is not dds_type(msgtype):
                raise ValueError(f"topic {topic} already has type {existing.data_type.__name__}, not {msgtype}")
            return existing
        self._topics[key] = Topic(self._participant, key, dds_type(msgtype))
        return self._topics[key]

    @staticmethod
    def _qos(qos: Qos):
        from cyclonedds.core import Policy, Qos as DdsQos
        from cyclonedds.util import duration

        policies = [
            Policy.Reliability.Reliable(duration(milliseconds=100)) if qos.reliable else Policy.Reliability.BestEffort,
            Policy.History.KeepLast(qos.depth),
            Policy.Durability.TransientLocal if qos.transient_local else Policy.Durability.Volatile,
        ]
        return DdsQos(*policies)

    def publisher(self, topic: str, msgtype: str, qos: Qos = Qos()) -> Publisher:
        from cyclonedds.pub import DataWriter

        writer = DataWriter(self._participant, self._topic(topic, msgtype), self._qos(qos))
        self._entities.append(writer)
        return _CyclonePublisher(topic, msgtype, writer)

    def subscribe(self, topic: str, msgtype: str, callback: Callback, on_reject: RejectCallback | None = None, qos: Qos = Qos()) -> None:
        from cyclonedds._clayer import ddspy_take
        from cyclonedds.core import InstanceState, Listener, SampleState, ViewState
        from cyclonedds.sub import DataReader

        mask = SampleState.Any | ViewState.Any | InstanceState.Any

        def on_data(reader) -> None:
            taken = ddspy_take(reader._ref, mask, 64)
            if isinstance(taken, int):
                return
            for data, info in taken:
                if not info.valid_data:
                    continue
                deliver(topic, f"{msgtype} sample ({len(data)} bytes)", lambda d=data: messages.deserialize(d, msgtype),
                        callback, on_reject)

        reader = DataReader(self._participant, self._topic(topic, msgtype), self._qos(qos), listener=Listener(on_data_available=on_data))
        self._entities.append(reader)
        self._readers[topic] = reader

    def publisher_count(self, topic: str) -> int:
        reader = self._readers.get(topic)
        return -1 if reader is None else len(reader.get_matched_publications())

    def close(self) -> None:
        """Delete the DDS entities now (readers first, so no listener runs after close)."""
        for entity in reversed([*self._entities, *self._topics.values(), self._participant, self._domain]):
            if entity is not None:
                entity.__del__()  # cyclonedds deletes on __del__ and forgets the handle, so a later GC is a no-op
        self._entities.clear()
        self._topics.clear()
        self._participant = self._domain = None
