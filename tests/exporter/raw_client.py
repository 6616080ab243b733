"""A raw-socket client of a running service: its address, and whether the server has closed a connection."""

from __future__ import annotations

import socket


def address(service) -> tuple[str, int]:
    host, port = service.url.removeprefix("http://").split(":")
    return host, int(port)


def is_closed(sock: socket.socket, wait: float = 0.5) -> bool:
    """Whether the server closed (or reset) the connection, waiting up to ``wait`` seconds for it to."""
    sock.settimeout(wait)
    try:
        return sock.recv(1) == b""
    except TimeoutError:
        return False
    except ConnectionResetError:
        return True
