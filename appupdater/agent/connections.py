"""How much of the agent one client may hold: the connection slots, in all and per address,
and the deadline a connection's bytes are read against (`server.py` serves with them)."""

from __future__ import annotations

import io
import ipaddress
import logging
import socket
import threading
import time
from typing import Any, Protocol

log = logging.getLogger("appupdater.agent")

WARN_EVERY = 10.0  # seconds between warnings about refused connections


def address_key(host: str) -> str:
    """Whose connection it is: the IPv4 address, or the /64 an IPv6 address is in (one
    machine usually has a whole /64 to send from)."""
    try:
        address = ipaddress.ip_address(host.partition("%")[0])
    except ValueError:
        return host
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    return str(address)


class ConnectionSlots:
    """The connections being served: at most `total` at once and `per_address` from one
    address, so neither a flood nor one client's held connections keep others out."""

    def __init__(self, total: int, per_address: int):
        self.total = total
        self.per_address = per_address
        self._lock = threading.Lock()
        self._served: dict[str, int] = {}
        self._refused = 0  # connections refused since the last warning about it
        self._warned = -float("inf")

    def take(self, host: str) -> bool:
        """Whether a connection from `host` may be served; if so it holds a slot until
        `give_back`. A refusal is logged now and then, not for each one (a flood must not
        flood the log)."""
        key = address_key(host)
        with self._lock:
            held = self._served.get(key, 0)
            if sum(self._served.values()) < self.total and held < self.per_address:
                self._served[key] = held + 1
                return True
            self._refused += 1
            if time.monotonic() - self._warned < WARN_EVERY:
                return False
            refused, self._refused, self._warned = self._refused, 0, time.monotonic()
        if held >= self.per_address:
            why = f"{held} from that address are being served, the most from one address"
            option = "--max-connections-per-address"
        else:
            why, option = f"{self.total} are being served, the most at once", "--max-connections"
        log.warning(
            "refused %d connections (the latest from %s): %s (%s)", refused, host, why, option
        )
        return False

    def give_back(self, host: str) -> None:
        key = address_key(host)
        with self._lock:
            left = self._served.get(key, 0) - 1
            if left > 0:
                self._served[key] = left
            else:
                self._served.pop(key, None)


class Deadlined(Protocol):
    """What `DeadlineReader` reads for: a connection and the time its request must be in by."""

    connection: socket.socket
    deadline: float  # time.monotonic()
    request_timeout: float


class DeadlineReader(io.RawIOBase):
    """A connection's bytes, read against the handler's deadline for the whole request: each
    read may wait only for what is left of it, so a client that trickles a byte every few
    seconds is cut as surely as one that sends nothing."""

    def __init__(self, handler: Deadlined):
        self.handler = handler

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        late = TimeoutError(f"the request was not sent within {self.handler.request_timeout:g} s")
        left = self.handler.deadline - time.monotonic()
        if left <= 0:
            raise late
        self.handler.connection.settimeout(left)
        try:
            received: int = self.handler.connection.recv_into(buffer)
        except TimeoutError:
            raise late from None
        return received
