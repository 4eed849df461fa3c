"""Refuse IPv4/IPv6 connections in a test, so a hidden download fails loudly.

Unix sockets still work. The loader tests apply it to every test; the chunker tests too.
"""

from __future__ import annotations

import socket
from typing import Any

import pytest

_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex


def _guarded_connect(self: socket.socket, address: Any) -> None:
    if self.family in (socket.AF_INET, socket.AF_INET6):
        raise OSError(101, f"network blocked by the ingest test guard: {address!r}")
    _real_connect(self, address)


def _guarded_connect_ex(self: socket.socket, address: Any) -> int:
    if self.family in (socket.AF_INET, socket.AF_INET6):
        raise OSError(101, f"network blocked by the ingest test guard: {address!r}")
    return _real_connect_ex(self, address)


def block_network(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(socket.socket, "connect", _guarded_connect)
    monkeypatch.setattr(socket.socket, "connect_ex", _guarded_connect_ex)
