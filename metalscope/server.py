"""Running the app under uvicorn with the settings' address, port, socket and TLS options."""

from __future__ import annotations

import logging
import os
import socket
from typing import Any

import uvicorn

from metalscope.app import create_app, validate_startup
from metalscope.errors import ConfigurationError
from metalscope.log_context import configure_logging
from metalscope.settings import Settings
from metalscope.storage import migrate

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


def uvicorn_options(settings: Settings) -> dict[str, Any]:
    default = settings.default
    options: dict[str, Any] = {"log_config": None, "access_log": False, "lifespan": "on",
                               "timeout_graceful_shutdown": 30}
    if not default.listen_unix_socket:
        options.update(host=default.listen_address, port=default.listen_port)
    if default.use_ssl:
        if not settings.ssl.cert_file or not settings.ssl.key_file:
            raise ConfigurationError("[DEFAULT]use_ssl needs [ssl]cert_file and [ssl]key_file")
        options.update(ssl_certfile=settings.ssl.cert_file, ssl_keyfile=settings.ssl.key_file,
                       ssl_ca_certs=settings.ssl.ca_file)
    return options


def run_server(settings: Settings) -> None:
    configure_logging(settings.default.debug)
    if settings.embedded:
        LOG.warning("No configuration file given: running on embedded defaults (SQLite in %s, "
                    "no authentication, Ironic at %s)", settings.default.data_dir,
                    settings.conf.ironic.endpoint_override)
    validate_startup(settings)
    prepare_database(settings)
    app = create_app(settings)
    config = uvicorn.Config(app, **uvicorn_options(settings))
    server = uvicorn.Server(config)
    sockets = [unix_socket(settings)] if settings.default.listen_unix_socket else None
    server.run(sockets=sockets)


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
