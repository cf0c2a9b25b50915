"""Sockets for the kit's servers (the sandbox, a worker's live logs)."""

from __future__ import annotations

import socket


def bound_socket(host: str, port: int) -> socket.socket:
    """A TCP socket bound to host:port (port 0: any free one), not yet listening.
    OSError if the address is taken or unknown."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    return sock


def free_port() -> int:
    """A port of 127.0.0.1 that is free now (for a child process to bind)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
