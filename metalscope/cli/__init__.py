"""The ``metalscope`` command and its subcommands, one module each:

* ``serve`` (:mod:`.serve`): the introspection API;
* ``db upgrade``, ``db downgrade``, ``db version``, ``db stamp`` (:mod:`.db`): the database
  schema;
* ``data migrate`` (:mod:`.data`): stored introspection data copied between stores;
* ``rules export``, ``rules import``, ``rules convert``, ``rules test`` (:mod:`.rules`):
  rules in and out of files, Ironic's rules converted, a dry run for one node;
* ``pxe-filter`` (:mod:`.pxe_filter`): the PXE filter alone, beside dnsmasq;
* ``history NODE``, ``diff NODE [FROM] [TO]`` (:mod:`.history`): a node's hardware history
  and the diff between two versions, through the HTTP API (1.19);
* ``policy defaults``, ``policy show`` (:mod:`.policy`): the API's access policy;
* ``config sample`` (:mod:`.config`): a sample configuration file, every option with its help;
* ``simulate-ramdisk`` (:mod:`.simulate`): simulated IPA inventories posted to MetalScope;
* ``demo`` (:mod:`.demo`): simulated machines introspected end to end on a local fake Ironic.

``metalscope --version`` prints the installed version. Upstream's command names
(``ironic-inspector``, ``ironic-inspector-dbsync``, ...) are in :mod:`.upstream`.

The commands parse their arguments, load the settings (:mod:`.options`), open the services
they need through :mod:`metalscope.wiring` and print; the work itself is in the domain
packages.
"""

from __future__ import annotations

import click

from metalscope.cli.config import config
from metalscope.cli.data import data
from metalscope.cli.db import db
from metalscope.cli.demo import demo
from metalscope.cli.history import diff, history
from metalscope.cli.policy import policy
from metalscope.cli.pxe_filter import pxe_filter_command
from metalscope.cli.rules import rules
from metalscope.cli.serve import serve
from metalscope.cli.simulate import simulate_ramdisk
from metalscope.cli.version import package_version


@click.group()
@click.version_option(package_version(), prog_name="metalscope")
def main() -> None:
    """MetalScope: hardware introspection for bare metal, compatible with ironic-inspector."""


for _command in (serve, db, data, rules, pxe_filter_command, policy, config, simulate_ramdisk,
                 demo, history, diff):
    main.add_command(_command)
