"""The moto server the sandbox talks to.

moto keeps its state in the memory of the process that runs it, so a sandbox that lives across commands
needs ONE long-running server: ``ladder sandbox serve`` (``AWS_ENDPOINT_URL=http://127.0.0.1:5000``).
Without ``AWS_ENDPOINT_URL`` a command starts an embedded server on a free loopback port for its own
duration; what it created disappears with it (the state file records that, and the next command knows).
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import time
from dataclasses import dataclass
from typing import Callable, Iterator, Optional

from .aws import DUMMY_CREDENTIALS, ENDPOINT_ENV

LOOPBACK = "127.0.0.1"
DEFAULT_PORT = 5000


def free_port(host: str = LOOPBACK) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def dummy_credentials() -> None:
    """moto accepts any credentials; make sure nothing ever reaches for real ones."""
    for key, value in DUMMY_CREDENTIALS.items():
        os.environ.setdefault(key, value)
    os.environ.setdefault("AWS_EC2_METADATA_DISABLED", "true")


class MotoServer:
    """A :class:`moto.server.ThreadedMotoServer` on a loopback port (start/stop, or use as a context manager)."""

    def __init__(self, port: Optional[int] = None, host: str = LOOPBACK, workdir: Optional[str] = None):
        self.host = host
        self.port = port or free_port(host)
        self.workdir = workdir  # where emulated jobs keep their files (a temporary directory by default)
        self._server = None
        self.gateway = None

    @property
    def endpoint(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> "MotoServer":
        """Serve moto behind the sandbox's service emulation (:class:`~.services.gateway.Gateway`) on loopback."""
        import threading

        from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
        from werkzeug.serving import make_server

        from .services.gateway import Gateway

        dummy_credentials()
        logging.getLogger("werkzeug").setLevel(logging.CRITICAL)  # no request lines; crashes become warnings
        self.gateway = Gateway(DomainDispatcherApplication(create_backend_app), self.endpoint, self.workdir)
        self._server = make_server(self.host, self.port, self.gateway, threaded=True,
                                   request_handler=MotoRequestHandler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True, name="moto-server")
        self._thread.start()
        return self

    def stop(self) -> None:
        if self.gateway is not None:
            self.gateway.shutdown()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._thread.join(timeout=10)
            self._server = None

    def __enter__(self) -> "MotoServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


@dataclass(frozen=True)
class Endpoint:
    url: str
    embedded: bool


@contextlib.contextmanager
def sandbox_endpoint(endpoint: Optional[str] = None) -> Iterator[Endpoint]:
    """The endpoint to use: ``endpoint``, else ``$AWS_ENDPOINT_URL``, else an embedded server for the block."""
    dummy_credentials()
    url = endpoint or os.environ.get(ENDPOINT_ENV)
    if url:
        yield Endpoint(url.rstrip("/"), embedded=False)
        return
    with MotoServer() as server:
        yield Endpoint(server.endpoint, embedded=True)


def serve(port: int = DEFAULT_PORT, host: str = LOOPBACK, *, on_ready: Callable[[str], None] | None = None,
          stop_after: Optional[float] = None) -> None:
    """Run a moto server until interrupted (Ctrl-C or SIGTERM), or for ``stop_after`` seconds (tests)."""
    import signal
    import threading

    logging.getLogger("botocore").setLevel(logging.WARNING)  # moto's own boto calls stay quiet
    server = MotoServer(port=port, host=host).start()
    previous = None
    if threading.current_thread() is threading.main_thread():
        def _terminate(signum, frame):
            raise KeyboardInterrupt

        previous = signal.signal(signal.SIGTERM, _terminate)
    try:
        if on_ready:
            on_ready(server.endpoint)
        deadline = None if stop_after is None else time.monotonic() + stop_after
        while deadline is None or time.monotonic() < deadline:
            time.sleep(0.2)
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
