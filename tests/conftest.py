"""Test-suite wide guards: offline (only loopback connections), telemetry off, dummy AWS credentials."""

from __future__ import annotations

import ipaddress
import os
import socket

import pytest

os.environ.setdefault("PULUMI_SKIP_UPDATE_CHECK", "true")
for _k, _v in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_SESSION_TOKEN": "testing",
               "AWS_DEFAULT_REGION": "us-east-1", "AWS_EC2_METADATA_DISABLED": "true"}.items():
    os.environ.setdefault(_k, _v)

_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex


def _is_loopback(address) -> bool:
    if isinstance(address, (str, bytes)):  # AF_UNIX
        return True
    host = address[0]
    if host in ("localhost",):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _guarded(real):
    def connect(self, address):
        if self.family in (socket.AF_INET, socket.AF_INET6) and not _is_loopback(address):
            raise OSError(f"test suite is offline: refused connection to {address!r}")
        return real(self, address)

    return connect


@pytest.fixture(autouse=True, scope="session")
def _offline():
    socket.socket.connect = _guarded(_real_connect)
    socket.socket.connect_ex = _guarded(_real_connect_ex)
    yield
    socket.socket.connect = _real_connect
    socket.socket.connect_ex = _real_connect_ex


@pytest.fixture()
def stacks(tmp_path):
    """Copies of the sample stacks (tests that rewrite stack files never touch the repository's stacks/)."""
    import shutil
    from pathlib import Path

    out = tmp_path / "stacks"
    out.mkdir()
    for f in (Path(__file__).resolve().parent.parent / "stacks").glob("Pulumi.*.yaml"):
        shutil.copy(f, out / f.name)
    return out
