"""``[redfish]``: out-of-band inspection through the node's BMC (:mod:`metalscope.redfish`)."""

from __future__ import annotations

from metalscope.settings.option import BOOLEAN, FLOAT, INTEGER, STRING, option, section

#: The ways an introspection collects the hardware: the ramdisk, or the BMC over Redfish.
METHODS = ("inband", "redfish")


@section
class RedfishSection:
    """``[redfish]``: out-of-band inspection over Redfish and its periodic refresh."""

    default_method: str = option(
        STRING, "inband", choices=list(METHODS),
        help="How an introspection start that does not choose (any request below API 1.20, "
             "Ironic's inspector inspect interface, a start without 'method') collects the "
             "hardware: 'inband' boots the ramdisk (upstream's behaviour), 'redfish' reads "
             "the BMC named in the node's driver_info without powering or booting the node.")
    timeout: float = option(
        FLOAT, 30.0, min=1,
        help="Seconds one Redfish request to a BMC may take (connection and answer).")
    collect_timeout: float = option(
        FLOAT, 120.0, min=1,
        help="Seconds a whole out-of-band collection from one BMC may take; the "
             "introspection then ends in error naming the resource being read.")
    max_concurrent: int = option(
        INTEGER, 8, min=1,
        help="Out-of-band collections one MetalScope instance runs at once; further ones "
             "wait for a free slot (their introspection timeout still runs).")
    verify_ca_default: bool = option(
        BOOLEAN, True,
        help="Verify the BMC's HTTPS certificate when the node's driver_info has no "
             "redfish_verify_ca.")
    refresh_interval: int = option(
        INTEGER, 0, min=0,
        help="Seconds after which the leader inspects again, out of band, a node whose last "
             "finished inspection is older (0: never).")
    refresh_jitter: float = option(
        FLOAT, 0.1, min=0, max=1,
        help="Fraction of refresh_interval by which each node's refresh is moved earlier or "
             "later (the same for a node every time), so the fleet is not refreshed at once.")
    refresh_batch: int = option(
        INTEGER, 50, min=1,
        help="Out-of-band refreshes the leader starts per pass at most.")


#: The name the other modules read the section by.
RedfishSettings = RedfishSection
