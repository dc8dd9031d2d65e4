"""Keeping DDS on this machine: loopback-bound Cyclone configuration and private network namespaces.

DDS finds its peers by multicast. SimSuite's defaults never let that leave the machine:

- :func:`cyclone_config` binds Cyclone DDS to one interface, the loopback ``lo`` unless the
  user names another, and lists ``127.0.0.1`` as a unicast peer, so discovery works on a
  loopback without multicast too;
- :func:`netns_argv` wraps a command so that it runs in a fresh network namespace that
  has only a loopback interface (``unshare -n``, then ``ip link set lo up``, multicast on,
  and the multicast route on ``lo``). Tests, benchmarks and the README's commands run every
  DDS participant this way, so no packet can leave even if a configuration is wrong.
- :func:`rclpy_env` is the environment for a real rclpy peer: ``ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST``.
"""

from __future__ import annotations

import os
import shlex
import shutil
import socket
from typing import Mapping, Sequence

LOOPBACK = "lo"
LOOPBACK_SETUP = "ip link set lo up && ip link set lo multicast on && ip route add 224.0.0.0/4 dev lo"


def cyclone_config(interface: str | None = None, peers: Sequence[str] | None = None) -> str:
    """Cyclone DDS XML that binds to ``interface`` (default ``lo``) with unicast ``peers``
    (default ``127.0.0.1`` on loopback, none otherwise) and automatic participant indices."""
    interface = interface or LOOPBACK
    if peers is None:
        peers = ("127.0.0.1",) if interface == LOOPBACK else ()
    peer_xml = "".join(f'<Peer address="{p}"/>' for p in peers)
    # the loopback's MTU is 64 KiB: datagrams that large cut a 640x480 image into ~15
    # fragments instead of ~700 of the 1344-byte default (sized for Ethernet)
    sizes = "<MaxMessageSize>65000B</MaxMessageSize><FragmentSize>63000B</FragmentSize>" if interface == LOOPBACK else ""
    return (
        "<CycloneDDS><Domain id=\"any\">"
        f"<General><Interfaces><NetworkInterface name=\"{interface}\"/></Interfaces>{sizes}</General>"
        "<Discovery><ParticipantIndex>auto</ParticipantIndex><MaxAutoParticipantIndex>64</MaxAutoParticipantIndex>"
        f"<Peers>{peer_xml}</Peers></Discovery>"
        # a writer blocks while more than WhcHigh of its samples are unacknowledged: with the
        # 500 kB default one camera frame (0.9 MB) waits for the reader's acknowledgement
        "<Internal><Watermarks><WhcHigh>16MB</WhcHigh></Watermarks></Internal>"
        "</Domain></CycloneDDS>"
    )


def interfaces() -> list[str]:
    """Network interfaces of this process's network namespace (asked of the kernel, not
    /sys/class/net, which shows the namespace sysfs was mounted in)."""
    return sorted(name for _, name in socket.if_nameindex())


def in_private_netns() -> bool:
    """True when the only interface is the loopback: nothing can leave."""
    return interfaces() == [LOOPBACK]


def netns_available() -> bool:
    return shutil.which("unshare") is not None and shutil.which("ip") is not None and os.geteuid() == 0


def netns_argv(argv: Sequence[str]) -> list[str]:
    """``argv`` run in a new network namespace with only a multicast-capable loopback."""
    return ["unshare", "-n", "sh", "-c", f"{LOOPBACK_SETUP} && exec {shlex.join(argv)}"]


def rclpy_env(base: Mapping[str, str] | None = None, domain_id: int = 0) -> dict[str, str]:
    """Environment for an rclpy process that must stay on this host."""
    env = dict(os.environ if base is None else base)
    env["ROS_AUTOMATIC_DISCOVERY_RANGE"] = "LOCALHOST"
    env["ROS_DOMAIN_ID"] = str(domain_id)
    env.setdefault("RMW_IMPLEMENTATION", "rmw_fastrtps_cpp")
    return env
