"""ROS 1 through rospy, where it is installed (Debian: ``apt-get install ros-core python3-rospy``).

The bridge's messages stay ROS 2 dataclasses; rosbags converts their CDR bytes to ROS 1's
wire format (adding ``Header.seq``, mapping times), and rospy's own message classes decode
them, so a ROS 1 node sees ordinary ``sensor_msgs/LaserScan``, ``geometry_msgs/Twist`` and the
rest. rospy talks TCP to ``ROS_MASTER_URI`` (loopback by default); there is no multicast.

Debian installs rospy for its own Python (``/usr/lib/python3/dist-packages``). A venv on the
same Python version reaches it here by appending that folder to ``sys.path`` (after the venv's
own packages, so they keep priority); numpy 2 breaks only ``rospy.numpy_msg``, which is not used.
"""

from __future__ import annotations

import io
import logging
import sys
from pathlib import Path
from typing import Any

from simsuite.ros import messages as M
from simsuite.ros.transport import Callback, Publisher, Qos, RejectCallback, Transport, deliver

DEBIAN_DIST_PACKAGES = Path("/usr/lib/python3/dist-packages")


def import_rospy():
    """rospy, from this environment or Debian's packages; ImportError says how to install it."""
    try:
        import rospy
    except ImportError:
        if not (DEBIAN_DIST_PACKAGES / "rospy").is_dir():
            raise ImportError("ROS 1 needs rospy: apt-get install ros-core python3-rospy python3-rostopic "
                              "python3-sensor-msgs python3-geometry-msgs python3-nav-msgs python3-tf2-msgs") from None
        sys.path.append(str(DEBIAN_DIST_PACKAGES))
        import rospy
    return rospy


def ros1_name(msgtype: str) -> str:
    """``sensor_msgs/msg/LaserScan`` -> ``sensor_msgs/LaserScan``."""
    pkg, _, name = msgtype.split("/")
    return f"{pkg}/{name}"


class _Ros1Publisher(Publisher):
    def __init__(self, topic: str, msgtype: str, pub, cls):
        super().__init__(topic, msgtype)
        self._pub, self._cls = pub, cls

    def publish_cdr(self, data: bytes) -> None:
        ros1 = M.typestore().cdr_to_ros1(data, self.msgtype)
        self._pub.publish(self._cls().deserialize(bytes(ros1)))

    def subscriber_count(self) -> int:
        return self._pub.get_num_connections()


class Ros1Transport(Transport):
    """A rospy node (one per process, as rospy allows)."""

    kind = "ros1"

    def __init__(self, node_name: str = "simsuite"):
        self.rospy = import_rospy()
        import roslib.message

        self._get_class = roslib.message.get_message_class
        if not self.rospy.core.is_initialized():
            self.rospy.init_node(node_name, anonymous=True, disable_signals=True, disable_rosout=False)
        self._subs: dict[str, Any] = {}
        self._pubs: list[Any] = []
        logging.getLogger("rosout").propagate = True

    def _cls(self, msgtype: str):
        cls = self._get_class(ros1_name(msgtype))
        if cls is None:
            raise ImportError(f"no ROS 1 message class for {ros1_name(msgtype)}; install its python3-*-msgs package")
        return cls

    def publisher(self, topic: str, msgtype: str, qos: Qos = Qos()) -> Publisher:
        cls = self._cls(msgtype)
        pub = self.rospy.Publisher(topic, cls, queue_size=qos.depth, latch=qos.transient_local)
        self._pubs.append(pub)
        return _Ros1Publisher(topic, msgtype, pub, cls)

    def subscribe(self, topic: str, msgtype: str, callback: Callback, on_reject: RejectCallback | None = None, qos: Qos = Qos()) -> None:
        store = M.typestore()

        def decode(msg):
            buf = io.BytesIO()
            msg.serialize(buf)
            return store.deserialize_cdr(store.ros1_to_cdr(buf.getvalue(), msgtype), msgtype)

        def on_message(msg) -> None:
            deliver(topic, msgtype, lambda: decode(msg), callback, on_reject)

        self._subs[topic] = self.rospy.Subscriber(topic, self._cls(msgtype), on_message, queue_size=qos.depth)

    def publisher_count(self, topic: str) -> int:
        sub = self._subs.get(topic)
        return -1 if sub is None else sub.get_num_connections()

    def close(self) -> None:
        for sub in self._subs.values():
            sub.unregister()
        for pub in self._pubs:
            pub.unregister()
        self._subs.clear()
        self._pubs.clear()
