"""``[follower]``: following Ironic's own inspections (:mod:`metalscope.follower`)."""

from __future__ import annotations

from metalscope.settings.option import BOOLEAN, FLOAT, INTEGER, option, section


@section
class FollowerSection:
    """``[follower]``: each inventory Ironic (33 and later) records from its own inspection
    becomes a version of the node's history."""

    enabled: bool = option(
        BOOLEAN, False,
        help="Follow Ironic's own inspections (agent or redfish inspect interface, Ironic "
             "API 1.81 or later): the leader polls Ironic's node list sorted by "
             "inspection_finished_at and reads the inventory of every node whose inspection "
             "finished since the last poll. Needs no callback endpoint nor PXE filter.")
    poll_interval: float = option(
        FLOAT, 30.0, min=1,
        help="Seconds between two polls of Ironic.")
    page_size: int = option(
        INTEGER, 100, min=1, max=1000,
        help="Nodes per page of Ironic's node list; also the most inventories read in one "
             "poll.")
    backfill_per_poll: int = option(
        INTEGER, 20, min=1,
        help="Inventories Ironic recorded before the follower's first poll read per poll, "
             "until all are read.")
    max_backoff: float = option(
        FLOAT, 600.0, min=1,
        help="Longest wait, in seconds, between two polls while Ironic is unreachable or "
             "refuses the credentials, and between two reads of one node's inventory that "
             "fails (the wait doubles from poll_interval at each failure).")
    apply_rules: bool = option(
        BOOLEAN, True,
        help="Run the introspection rules (with diff:// fields) on each followed inventory. "
             "Their actions reach Ironic only as traits, extra fields and maintenance with "
             "a reason; any other edit is logged and not made.")
