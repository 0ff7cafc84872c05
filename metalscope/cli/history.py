"""``metalscope history NODE`` and ``metalscope diff NODE [FROM] [TO]``: a node's hardware
history and the diff between two versions, read through the HTTP API at version 1.19.

They go through the API, not the database, so an operator can run them from any host that
reaches the service (``--url``, or the Keystone catalog), with the same authentication and
policy (``introspection:history``) as any other client. ``NODE`` is a UUID or an Ironic node
name. ``--format json`` prints the API's document unchanged, for scripts.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

import click

from metalscope.cli.api_client import ApiClient, ApiOptions, api_options
from metalscope.cli.history_format import diff_lines, history_lines

API_VERSION = "1.19"
FORMATS = click.Choice(["table", "json"])


def _node_path(node: str) -> str:
    return f"/v1/introspection/{quote(node, safe='')}"


def _client(api: ApiOptions) -> ApiClient:
    """The API client; a caller may hand an open HTTP client in ``obj["http"]`` (tests)."""
    obj = click.get_current_context().obj
    return ApiClient(api, API_VERSION, http=obj.get("http") if isinstance(obj, dict) else None)


def _echo_json(document: Any) -> None:
    click.echo(json.dumps(document, indent=2, sort_keys=True))


@click.command("history")
@click.argument("node")
@click.option("--limit", type=click.IntRange(min=1), default=None,
              help="Show at most this many versions (newest first).")
@click.option("--format", "output", type=FORMATS, default="table", show_default=True)
@api_options
def history(node: str, limit: int | None, output: str, api: ApiOptions) -> None:
    """The recorded versions of NODE's hardware, newest first: version, finished, source,
    error, whether it changed from the version before, and the one-line summary."""
    with _client(api) as client:
        document = client.get(f"{_node_path(node)}/history", {"limit": limit})
    if output == "json":
        _echo_json(document)
        return
    for line in history_lines(node, document.get("history", [])):
        click.echo(line)


@click.command("diff")
@click.argument("node")
@click.argument("from_version", metavar="[FROM]", required=False, type=click.IntRange(min=1))
@click.argument("to_version", metavar="[TO]", required=False, type=click.IntRange(min=1))
@click.option("--format", "output", type=FORMATS, default="table", show_default=True)
@api_options
def diff(node: str, from_version: int | None, to_version: int | None, output: str,
         api: ApiOptions) -> None:
    """What changed in NODE's hardware from version FROM to version TO (default: the latest
    version, compared with the one before it), grouped by category: ``-`` removed, ``+``
    added, ``~`` changed with old → new."""
    with _client(api) as client:
        document = client.get(f"{_node_path(node)}/diff",
                              {"from": from_version, "to": to_version})
    if output == "json":
        _echo_json(document)
        return
    for line in diff_lines(document):
        click.echo(line)
