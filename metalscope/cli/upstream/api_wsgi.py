"""``ironic-inspector-api-wsgi``: the API role of a split deployment.

Upstream installs this name with pbr's WSGI script template: run directly, it takes
``--port``/``-p`` (default 8000) and ``--host``/``-b`` (default: every address), then ``--``
and the application's own arguments (``--config-file`` and the rest); imported by a WSGI
server (uWSGI, mod_wsgi) it hands over a WSGI application. MetalScope is an ASGI
application on its own event loop, which no WSGI server can run: imported under one, this
module refuses at once with :data:`WSGI_REFUSAL` (run the command itself and point the web
server's reverse proxy at it instead). Like upstream, it refuses ``[DEFAULT]standalone = True``.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from metalscope.cli.upstream.command_line import read_command_line, reloader, run_command
from metalscope.cli.version import package_version

PROG = "ironic-inspector-api-wsgi"
#: pbr's defaults.
DEFAULT_PORT = 8000
ALL_ADDRESSES = "0.0.0.0"
#: Modules present only inside a WSGI server's process.
WSGI_SERVERS = ("uwsgi", "mod_wsgi")
WSGI_REFUSAL = (
    "ironic-inspector-api-wsgi cannot run inside a WSGI server: MetalScope is an ASGI "
    "application with its own event loop. Run `ironic-inspector-api-wsgi --host ADDRESS "
    "--port PORT -- --config-file /etc/ironic-inspector/inspector.conf` as a service instead "
    "and make the web server a reverse proxy to it (mod_proxy's ProxyPass, nginx's "
    "proxy_pass, uWSGI's --http-to)."
)


class LoadedByWsgiServer(RuntimeError):
    """This module was imported by a WSGI server, which cannot run MetalScope."""


def refuse_wsgi_server(loaded: Sequence[str]) -> None:
    """LoadedByWsgiServer when one of ``loaded`` (module names) is a WSGI server's."""
    if any(name in WSGI_SERVERS for name in loaded):
        raise LoadedByWsgiServer(WSGI_REFUSAL)


# The script a WSGI server imports imports this module: refuse before it looks for an
# ``application`` to call.
refuse_wsgi_server(list(sys.modules))


def parser() -> argparse.ArgumentParser:
    """pbr's WSGI script arguments, and ``--version``."""
    result = argparse.ArgumentParser(
        prog=PROG, formatter_class=argparse.ArgumentDefaultsHelpFormatter,
        description="The ironic-inspector API (MetalScope's API role).",
        usage="%(prog)s [-h] [--port PORT] [--host IP] -- [passed options]")
    result.add_argument("--port", "-p", type=int, default=DEFAULT_PORT,
                        help="TCP port to listen on")
    result.add_argument("--host", "-b", default="", help="IP to bind the server to")
    result.add_argument("--version", action="version", version=package_version())
    result.add_argument("args", nargs=argparse.REMAINDER, metavar="-- [passed options]",
                        help="'--' is the separator of the arguments used to start the WSGI "
                             "server and the arguments passed to the WSGI application.")
    return result


def split_arguments(argv: Sequence[str]) -> tuple[tuple[str, int], list[str]]:
    """The address to bind and the application's arguments (those after ``--``); a usage
    error (SystemExit 2) as pbr's script gives one."""
    command = parser()
    parsed = command.parse_args(list(argv))
    passed = list(parsed.args)
    if passed and passed[0] == "--":
        passed.pop(0)
    elif passed:
        command.error(f"unrecognized arguments: {' '.join(passed)}")
    return (parsed.host or ALL_ADDRESSES, parsed.port), passed


def main(argv: Sequence[str] | None = None) -> int:
    return run_command(PROG, _serve, argv)


def _serve(argv: list[str]) -> int:
    from metalscope.process_roles import Role, check_deployment_mode
    from metalscope.server import run_server
    bind, passed = split_arguments(argv)
    settings = read_command_line(passed, PROG).settings
    check_deployment_mode(settings, PROG)
    run_server(settings, role=Role.API, reload_settings=reloader(passed, PROG), bind=bind,
               program=PROG)
    return 0
