"""``[history]``: the versions kept of every node's introspection data."""

from __future__ import annotations

from metalscope.settings.option import BOOLEAN, INTEGER, option, section


@section
class HistorySection:
    """``[history]``: hardware history (with ``[processing]store_data = database`` only)."""

    enabled: bool = option(
        BOOLEAN, True,
        help="Keep the processed and unprocessed data of every finished introspection as a "
             "new version of the node's history (compressed), instead of only the latest. "
             "Needs [processing]store_data = database.")
    max_versions: int = option(
        INTEGER, 10, min=0,
        help="Versions kept per node, the newest (0: no limit).")
    max_age: int = option(
        INTEGER, 365, min=0,
        help="Days a version is kept after its introspection finished (0: no limit). The "
             "newest version of a node known to MetalScope is kept regardless, as the "
             "baseline of the next comparison; once the node is forgotten (deleted from "
             "Ironic, or its status record expired) its history goes at this age too.")
