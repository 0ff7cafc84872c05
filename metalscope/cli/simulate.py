"""``metalscope simulate-ramdisk``: post simulated IPA inventories to a running MetalScope."""

from __future__ import annotations

import asyncio
import ipaddress
import json
import sys
from typing import Any

import click

from metalscope.simulator.inventory import make_node, ramdisk_data
from metalscope.simulator.poster import DEFAULT_ATTEMPTS, RetryPolicy, run_fleet
from metalscope.simulator.report import format_result, summary


@click.command("simulate-ramdisk")
@click.option("--url", default="http://127.0.0.1:5050", show_default=True,
              help="MetalScope base URL (or the full /v1/continue URL).")
@click.option("--count", default=1, show_default=True, type=click.IntRange(min=1),
              help="Number of nodes to simulate.")
@click.option("--seed", default=0, show_default=True, type=int,
              help="Fleet seed: the same seed and index always give the same machine.")
@click.option("--start", default=0, show_default=True, type=click.IntRange(min=0),
              help="Index of the first node within the fleet.")
@click.option("--concurrency", default=10, show_default=True, type=click.IntRange(min=1),
              help="Posts in flight at once.")
@click.option("--macs", default=None,
              help="Comma-separated NIC MACs of a single node (the first one PXE-boots).")
@click.option("--bmc-address", default=None,
              help="BMC IPv4 or IPv6 address of a single node.")
@click.option("--error", "error", default=None,
              help="Simulate a ramdisk-reported failure with this message.")
@click.option("--logs/--no-logs", default=True, show_default=True,
              help="Include the base64 log tarball.")
@click.option("--attempts", default=DEFAULT_ATTEMPTS, show_default=True,
              type=click.IntRange(min=1), help="Tries per node, as IPA (retries 5xx and 409).")
@click.option("--print", "print_only", is_flag=True,
              help="Print the JSON document(s) instead of posting.")
def simulate_ramdisk(url: str, count: int, seed: int, start: int, concurrency: int,
                     macs: str | None, bmc_address: str | None, error: str | None, logs: bool,
                     attempts: int, print_only: bool) -> None:
    """Post realistic ironic-python-agent inventories, one line per node: name, status, result.

    The result is the node UUID MetalScope returned, or its error message. Exits with status 1
    when any node was not accepted.
    """
    overrides = _single_node_overrides(count, macs, bmc_address)
    nodes = [make_node(seed, index, **overrides) for index in range(start, start + count)]
    documents = [ramdisk_data(node, error=error, with_logs=logs) for node in nodes]
    if print_only:
        click.echo(json.dumps(documents[0] if count == 1 else documents, indent=2))
        return
    results = asyncio.run(run_fleet(url, documents, concurrency,
                                    policy=RetryPolicy(attempts=attempts)))
    for node, result in zip(nodes, results, strict=True):
        click.echo(format_result(node, result))
    click.echo(summary(results), err=True)
    if not all(result.ok for result in results):
        sys.exit(1)


def _single_node_overrides(count: int, macs: str | None,
                           bmc_address: str | None) -> dict[str, Any]:
    overrides: dict[str, Any] = {}
    if (macs or bmc_address) and count != 1:
        raise click.UsageError("--macs and --bmc-address describe a single node (--count 1)")
    if macs:
        overrides["macs"] = [mac.strip() for mac in macs.split(",") if mac.strip()]
        overrides["pxe_mac"] = overrides["macs"][0]
    if bmc_address:
        try:
            version = ipaddress.ip_address(bmc_address).version
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="--bmc-address") from exc
        overrides["bmc_address" if version == 4 else "bmc_v6address"] = bmc_address
    return overrides
