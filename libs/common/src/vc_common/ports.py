"""Free TCP ports for servers a program starts itself (the embedded servers of ``make run``,
test servers).

A port is taken *below* the kernel's ephemeral range (``/proc/sys/net/ipv4/ip_local_port_range``,
usually 32768-60999). Binding port 0 would hand out an ephemeral port, and the kernel gives the
same range to the local end of every outgoing connection: between the moment a port is chosen and
the moment its server binds it, a service's own connection to PostgreSQL or NATS may take it
("address already in use", seen in the end-to-end test). Below that range only listeners compete.
"""

from __future__ import annotations

import random
import socket
from pathlib import Path

HOST = "127.0.0.1"
#: standard ports a system server may already hold; never handed out
RESERVED_PORTS = frozenset({3306, 4222, 5432, 5672, 6379, 8000, 1883, 15672})
_LOW = 20000


def _ephemeral_start() -> int:
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def port_is_free(port: int, host: str = HOST) -> bool:
    """Whether a server could listen on ``port`` now (SO_REUSEADDR, as servers set it, so the
    TIME_WAIT connections of an earlier run do not count)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def free_port(host: str = HOST, *, avoid: frozenset[int] | set[int] = frozenset()) -> int:
    """A TCP port nothing listens on now, outside the ephemeral range and the standard ports."""
    high = max(_LOW + 1000, _ephemeral_start())
    rng = random.SystemRandom()
    for _ in range(200):
        port = rng.randrange(_LOW, high)
        if port in RESERVED_PORTS or port in avoid:
            continue
        if port_is_free(port, host):
            return port
    raise OSError("no free TCP port found below the ephemeral range")
