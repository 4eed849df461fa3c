"""Loaded by every Python process whose PYTHONPATH starts with this folder.

Blocks outbound network: any connect() on an IPv4/IPv6 socket raises, and each
attempt is appended to $NETGUARD_LOG so the test can show none were made.
Unix sockets still work.
"""

import os
import socket

_LOG = os.environ.get("NETGUARD_LOG")
_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex


def _record(addr):
    if _LOG:
        with open(_LOG, "a") as fh:
            fh.write(f"{os.getpid()} {addr!r}\n")


def _guarded_connect(self, address):
    if self.family in (socket.AF_INET, socket.AF_INET6):
        _record(address)
        raise OSError(101, f"network blocked by test guard: {address!r}")
    return _real_connect(self, address)


def _guarded_connect_ex(self, address):
    if self.family in (socket.AF_INET, socket.AF_INET6):
        _record(address)
        return 101
    return _real_connect_ex(self, address)


def _guarded_getaddrinfo(host, *args, **kwargs):
    _record(("getaddrinfo", host))
    raise socket.gaierror(-3, f"DNS blocked by test guard: {host!r}")


socket.socket.connect = _guarded_connect
socket.socket.connect_ex = _guarded_connect_ex
socket.getaddrinfo = _guarded_getaddrinfo
os.environ["NETGUARD_ACTIVE"] = "1"
