"""ROS 2 through rclpy, for users with a sourced ROS 2 (or the ``ros-jazzy-*`` wheels).

The same CDR bytes the DDS transport writes go through rclpy's serialized publish
(``Publisher.publish(bytes)``) and raw subscriptions (``raw=True``), so no message is
converted field by field. rclpy's message classes are needed only for the type names; the
middleware is whatever the ROS 2 installation is set up with (``RMW_IMPLEMENTATION``).
A node spins in a background thread. Keep it on this host with
``ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST`` (:func:`simsuite.ros.netns.rclpy_env`).
"""

from __future__ import annotations

import importlib
import threading
from typing import Any

from simsuite.ros import messages as M
from simsuite.ros.transport import Callback, Publisher, Qos, RejectCallback, Transport, deliver, log


def _qos(qos: Qos):
    from rclpy.qos import DurabilityPolicy, HistoryPolicy, QoSProfile, ReliabilityPolicy

    return QoSProfile(
        history=HistoryPolicy.KEEP_LAST, depth=qos.depth,
        reliability=ReliabilityPolicy.RELIABLE if qos.reliable else ReliabilityPolicy.BEST_EFFORT,
        durability=DurabilityPolicy.TRANSIENT_LOCAL if qos.transient_local else DurabilityPolicy.VOLATILE,
    )


def rclpy_class(msgtype: str):
    """``sensor_msgs/msg/LaserScan`` -> ``sensor_msgs.msg.LaserScan``."""
    pkg, sub, name = msgtype.split("/")
    try:
        return getattr(importlib.import_module(f"{pkg}.{sub}"), name)
    except (ImportError, AttributeError):
        raise ImportError(f"rclpy transport: the ROS 2 package {pkg} (message {name}) is not installed") from None


class _RclpyPublisher(Publisher):
    def __init__(self, topic: str, msgtype: str, pub):
        super().__init__(topic, msgtype)
        self._pub = pub

    def publish_cdr(self, data: bytes) -> None:
        self._pub.publish(data)

    def subscriber_count(self) -> int:
        return self._pub.get_subscription_count()


class RclpyTransport(Transport):
    kind = "rclpy"

    def __init__(self, node_name: str = "simsuite", domain_id: int | None = None):
        import rclpy
        from rclpy.executors import SingleThreadedExecutor

        self._rclpy = rclpy
        self._context = rclpy.Context()
        kwargs = {} if domain_id is None else {"domain_id": int(domain_id)}
        rclpy.init(context=self._context, **kwargs)
        self.node = rclpy.create_node(node_name, context=self._context)
        self._executor = SingleThreadedExecutor(context=self._context)
        self._executor.add_node(self.node)
        self._subs: dict[str, Any] = {}
        self._thread = threading.Thread(target=self._spin, name="simsuite-rclpy", daemon=True)
        self._thread.start()

    def _spin(self) -> None:
        while self._context.ok():
            try:
                self._executor.spin_once(timeout_sec=0.05)
            except Exception:  # noqa: BLE001 - shutdown races end the loop
                if not self._context.ok():
                    return
                log.exception("rclpy executor")

    def publisher(self, topic: str, msgtype: str, qos: Qos = Qos()) -> Publisher:
        return _RclpyPublisher(topic, msgtype, self.node.create_publisher(rclpy_class(msgtype), topic, _qos(qos)))

    def subscribe(self, topic: str, msgtype: str, callback: Callback, on_reject: RejectCallback | None = None, qos: Qos = Qos()) -> None:
        def on_raw(data: bytes) -> None:
            deliver(topic, f"{msgtype} sample ({len(data)} bytes)", lambda: M.deserialize(data, msgtype), callback, on_reject)

        self._subs[topic] = self.node.create_subscription(rclpy_class(msgtype), topic, on_raw, _qos(qos), raw=True)

    def publisher_count(self, topic: str) -> int:
        return self.node.count_publishers(topic) if topic in self._subs else -1

    def close(self) -> None:
        if self._context.ok():
            self._executor.shutdown(timeout_sec=1.0)
            self.node.destroy_node()
            self._rclpy.shutdown(context=self._context)
        self._thread.join(timeout=2.0)
