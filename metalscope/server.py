"""Running the app under uvicorn with the settings' address, port, socket and TLS options."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import importlib.util
import logging
import os
import socket
import ssl
import sys
from collections.abc import Callable, Iterator
from typing import Any

import uvicorn

from metalscope.api.versions import version_headers
from metalscope.app import create_app, validate_startup
from metalscope.conductor import run_conductor
from metalscope.errors import ConfigurationError
from metalscope.http_limits import HeadLimits
from metalscope.http_protocols import ConnectionPolicy, protocol_options
from metalscope.logging_setup import setup_logging
from metalscope.process_control import SettingsReloader, StopRequest, signals_handled
from metalscope.process_roles import Role, check_role, start_notes
from metalscope.settings import Settings, SslSection
from metalscope.storage import migrate
from metalscope.unused_options import ignored_settings

LOG = logging.getLogger(__name__)


def prepare_database(settings: Settings) -> None:
    """Embedded defaults create their own schema; a configured database must be upgraded first."""
    problem = migrate.schema_problem(settings.database.connection)
    if problem is None:
        return
    if settings.embedded:
        LOG.info("Creating the embedded database schema")
        migrate.upgrade(settings.database.connection)
        return
    raise ConfigurationError(problem)


def speedups() -> dict[str, str]:
    """uvloop's event loop and httptools' HTTP parser when installed (both are dependencies
    on CPython): together they take about a sixth off the CPU a ramdisk callback costs.
    Without them uvicorn runs on asyncio's loop and h11."""
    installed = importlib.util.find_spec
    return {"loop": "uvloop" if installed("uvloop") else "asyncio",
            "http": "httptools" if installed("httptools") else "h11"}


def uvicorn_options(settings: Settings) -> dict[str, Any]:
    default = settings.default
    options: dict[str, Any] = {"log_config": None, "access_log": False, "lifespan": "on",
                               "timeout_graceful_shutdown": 30, **speedups()}
    # X-Forwarded-* are the application's to apply or ignore ([oslo_middleware]
    # enable_proxy_headers_parsing), not uvicorn's.
    options["proxy_headers"] = False
    options.update(protocol_options(options["http"], connection_policy(settings)))
    if not default.listen_unix_socket:
        options.update(host=default.listen_address, port=default.listen_port)
    if default.use_ssl:
        options.update(tls_options(settings.ssl))
    return options


def connection_policy(settings: Settings) -> ConnectionPolicy:
    default = settings.default
    head = HeadLimits(default.max_header_line, default.max_header_count,
                      default.max_header_size, default.header_timeout)
    return ConnectionPolicy(head, default.body_timeout, version_headers())


def tls_options(section: SslSection) -> dict[str, Any]:
    """uvicorn's TLS options from ``[ssl]`` (checked first, as upstream checks them).

    ``ca_file`` makes client certificates mandatory (verified against it), as upstream's
    server does. ``version`` is accepted and ignored: the server negotiates the highest TLS
    version both sides support.
    """
    check_tls_files(section)
    if section.version:
        LOG.warning("[ssl]version = %s is ignored: TLS versions are negotiated", section.version)
    options: dict[str, Any] = {"ssl_certfile": section.cert_file, "ssl_keyfile": section.key_file}
    if section.ca_file:
        options.update(ssl_ca_certs=section.ca_file, ssl_cert_reqs=ssl.CERT_REQUIRED)
    if section.ciphers:
        options["ssl_ciphers"] = section.ciphers
    return options


def check_tls_files(section: SslSection) -> None:
    """The certificate and key exist and belong together; ConfigurationError otherwise."""
    if not section.cert_file or not section.key_file:
        raise ConfigurationError("When running server in SSL mode, you must specify both a "
                                 "[ssl]cert_file and [ssl]key_file option value in your "
                                 "configuration file")
    for name in ("cert_file", "key_file", "ca_file"):
        path = getattr(section, name)
        if path and not os.path.exists(path):
            raise ConfigurationError(f"Unable to find {name} : {path}")
    try:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(section.cert_file, section.key_file)
        if section.ca_file:
            context.load_verify_locations(section.ca_file)
        if section.ciphers:
            context.set_ciphers(section.ciphers)
    except (ssl.SSLError, OSError) as exc:
        raise ConfigurationError(f"Invalid [ssl] files or ciphers: {exc}") from exc


def run_server(settings: Settings, *, role: Role = Role.ALL_IN_ONE,
               reload_settings: Callable[[], Settings] | None = None,
               bind: tuple[str, int] | None = None, program: str = "metalscope") -> None:
    """Run one process in ``role`` until SIGTERM or SIGINT (then stop within
    ``[DEFAULT]graceful_shutdown_timeout``, see :mod:`metalscope.process_control`).

    ``reload_settings`` reads the same configuration files again for SIGHUP (without it,
    SIGHUP is only logged). ``bind`` (address, port) replaces ``listen_address`` and
    ``listen_port`` (and ``listen_unix_socket``) for the HTTP listener. ``program`` names the
    log file when only ``log_dir`` is set (``<log_dir>/<program>.log``, as upstream's commands
    name theirs). Configuration problems raise ConfigurationError before anything is served.
    """
    setup_logging(settings, program)
    if settings.embedded:
        LOG.warning("No configuration file given or found: running on embedded defaults "
                    "(SQLite in %s, no authentication, Ironic at %s)", settings.default.data_dir,
                    settings.ironic.endpoint_override)
    else:
        LOG.info("Configuration read from %s",
                 ", ".join(settings.config_files) or "no file: upstream's defaults")
    check_role(settings, role)
    validate_startup(settings)
    for line in [*start_notes(settings, role), *ignored_settings(settings.differs_from_default)]:
        LOG.warning("%s", line)
    prepare_database(settings)
    stop = StopRequest(settings.default.graceful_shutdown_timeout)
    reloader = SettingsReloader(settings, reload_settings) if reload_settings else None
    if role is Role.CONDUCTOR:
        asyncio.run(_conductor_main(settings, stop, reloader))
    else:
        _serve_http(settings, role, stop, reloader, bind)
    LOG.info("Stopped")


async def _conductor_main(settings: Settings, stop: StopRequest,
                          reloader: SettingsReloader | None) -> None:
    with signals_handled(asyncio.get_running_loop(), stop, lambda: None, reloader):
        await run_conductor(settings, stop)


def _serve_http(settings: Settings, role: Role, stop: StopRequest,
                reloader: SettingsReloader | None, bind: tuple[str, int] | None) -> None:
    app = create_app(settings, role=role, stop=stop)
    options = uvicorn_options(settings)
    if bind is not None:
        options.update(host=bind[0], port=bind[1])
    timeout = settings.default.graceful_shutdown_timeout
    options["timeout_graceful_shutdown"] = timeout if timeout > 0 else None
    LOG.info("Serving with the %s event loop and the %s HTTP parser (%s role)",
             options["loop"], speedups()["http"], role.value)
    server = StartedServer(uvicorn.Config(app, **options), stop, reloader)
    use_socket = settings.default.listen_unix_socket and bind is None
    server.run(sockets=[unix_socket(settings)] if use_socket else None)


#: Seconds a thread holding the GIL keeps it while another waits (Python's default is 5 ms).
#: The event loop waits that long for the GIL each time it wakes while a worker thread parses
#: a large body (``json_parsing.py``) or matches rules: at 1 ms, ``GET /`` during a flood
#: of such bodies answered in 0.07 to 0.18 s (p95, three runs) instead of 0.38 s.
SWITCH_INTERVAL = 0.001


class StartedServer(uvicorn.Server):
    """uvicorn's server that, once the application has started, takes the objects alive then
    out of the garbage collector's walks (``gc.freeze``): modules, settings and services live
    as long as the process, yet every full collection would walk them again (a few hundred
    thousand objects, tens of milliseconds per pass, during which nothing else runs). The
    passes that parsing a large body triggers are then about that body only. It also sets
    the GIL's switch interval (``SWITCH_INTERVAL``)."""

    def __init__(self, config: uvicorn.Config, stop: StopRequest,
                 reloader: SettingsReloader | None = None) -> None:
        super().__init__(config)
        self.stop = stop
        self.reloader = reloader

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        gc.collect()
        gc.freeze()
        sys.setswitchinterval(SWITCH_INTERVAL)

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        """SIGTERM/SIGINT stop the server, SIGHUP reloads the configuration
        (:mod:`metalscope.process_control`). Unlike uvicorn's own handling, the stop signal
        is not raised again once stopped: a clean stop exits with status 0."""
        with signals_handled(asyncio.get_running_loop(), self.stop, self._stop_serving,
                             self.reloader):
            yield

    def _stop_serving(self) -> None:
        """First stop signal: stop serving, requests in flight get the bound. Second one:
        cancel them now, as the bound's end would (uvicorn's ``force_exit`` would skip the
        application's shutdown instead, leaving its services unclosed)."""
        self.should_exit = True
        if self.stop.forced:
            for task in self.server_state.tasks:
                task.cancel(msg="Task cancelled by a second stop signal")


def unix_socket(settings: Settings) -> socket.socket:
    """Bind the UNIX socket ourselves so ``listen_unix_socket_mode`` applies."""
    path = settings.default.listen_unix_socket
    assert path
    if os.path.exists(path):
        os.unlink(path)
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.bind(path)
    if settings.default.listen_unix_socket_mode is not None:
        os.chmod(path, int(str(settings.default.listen_unix_socket_mode), 8))
    return sock
