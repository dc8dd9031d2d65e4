"""The ROS bridge: SimSuite's envs on a ROS graph, and ROS robots as gymnasium envs.

- :class:`~simsuite.ros.bridge.SimBridge`: the simulator as a ROS node (sensors, /clock, /tf
  and odometry out; the family's command in), lockstep or free-running;
- :class:`~simsuite.ros.rosenv.RosEnv`: a robot on ROS as a gymnasium env with its sim twin's spaces;
- :mod:`~simsuite.ros.bag`: sessions recorded to ROS 2 bags (MCAP) and read back as rollouts;
- transports (:func:`~simsuite.ros.transport.make_transport`): Cyclone DDS without ROS
  (default, bound to loopback), rclpy, and rospy for ROS 1.

Names are imported on first use, so ``import simsuite.ros`` stays light.
"""

from __future__ import annotations

import importlib

_EXPORTS = {
    "SimBridge": "simsuite.ros.bridge",
    "LockstepTimeout": "simsuite.ros.bridge",
    "RosEnv": "simsuite.ros.rosenv",
    "RosTimeout": "simsuite.ros.rosenv",
    "read_bag_rollout": "simsuite.ros.bag",
    "read_bag_rollouts": "simsuite.ros.bag",
    "make_transport": "simsuite.ros.transport",
    "MessageRejected": "simsuite.ros.messages",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'simsuite.ros' has no attribute {name!r}")
