"""Serving the API with uvicorn: one place for the settings `tempclock serve` and the desktop share.

`build_server` makes a `uvicorn.Server` for an app; `run` serves in the
foreground (uvicorn handles SIGINT and SIGTERM: in-flight requests finish, then
the app's shutdown hooks flush the logs). The desktop runs `server.run()` on a
thread and stops it with `stop_server`.
"""

from __future__ import annotations

import ipaddress
import socket

import uvicorn

GRACEFUL_TIMEOUT_S = 10


def is_loopback(host: str) -> bool:
    """Whether `host` is reachable only from this machine."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        try:
            return all(ipaddress.ip_address(info[4][0]).is_loopback
                       for info in socket.getaddrinfo(host, None))
        except (OSError, ValueError):
            return False


def exposure_warning(host: str, port: int) -> str | None:
    """The warning to show when the API would be reachable from other machines."""
    if is_loopback(host):
        return None
    return (f"WARNING: the TempClock API is exposed on {host}:{port}, reachable from other "
            "machines on the network. Anyone who has a valid API key can use it from there; "
            "serve on 127.0.0.1 unless integrations on other machines need it.")


def build_server(
    app: object,
    host: str = "127.0.0.1",
    port: int = 8787,
    *,
    log_level: str = "warning",
    access_log: bool = False,
    graceful_timeout: int = GRACEFUL_TIMEOUT_S,
) -> uvicorn.Server:
    """A uvicorn server for `app` (not started). Lifespan on, so the app's hooks run."""
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        lifespan="on",
        log_level=log_level,
        access_log=access_log,
        timeout_graceful_shutdown=graceful_timeout,
        server_header=False,
        proxy_headers=False,
        backlog=2048,
    )
    return uvicorn.Server(config)


def stop_server(server: uvicorn.Server) -> None:
    """Ask a running server to finish in-flight requests and shut down."""
    server.should_exit = True


class ServerThread:
    """A uvicorn server for `app` running on a background thread (tests, benchmarks, embedding).

    `start()` returns once the server accepts connections (or raises if it could
    not start, e.g. the port is in use); `stop()` shuts it down gracefully.
    """

    def __init__(self, app: object, host: str = "127.0.0.1", port: int = 0, **options: object):
        import threading

        self.host = host
        self._socket = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._socket.bind((host, port))
        self.port: int = self._socket.getsockname()[1]
        self.server = build_server(app, host, self.port, **options)  # type: ignore[arg-type]
        self._thread = threading.Thread(target=self._serve, name=f"uvicorn-{self.port}",
                                        daemon=True)
        self.error: BaseException | None = None

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def _serve(self) -> None:
        try:
            self.server.run(sockets=[self._socket])
        except BaseException as error:  # reported by start()
            self.error = error

    def start(self, timeout: float = 15.0) -> ServerThread:
        import time

        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self.server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"the API server did not start: {self.error!r}")
            time.sleep(0.01)
        return self

    def stop(self, timeout: float = 30.0) -> None:
        stop_server(self.server)
        self._thread.join(timeout)
        self._socket.close()
