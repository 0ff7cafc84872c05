"""The PXE filter: ``[pxe_filter]`` and the sections of its drivers (``[iptables]``,
``[dnsmasq_pxe_filter]``)."""

from __future__ import annotations

from metalscope.settings.option import BOOLEAN, INTEGER, LIST, STRING, option, section


@section
class PxeFilterSection:
    """``[pxe_filter]``: which MAC addresses the DHCP server answers."""

    driver: str = option(
        STRING, "iptables",
        help="PXE filter driver: 'iptables', 'dnsmasq' or 'noop' (no filtering).")
    sync_period: int = option(
        INTEGER, 15, min=0,
        help="Seconds between two synchronisations of the filter with the database and "
             "Ironic's ports (0: no periodic synchronisation). A port enrolled or changed in "
             "Ironic is filtered within this period (plus one Ironic answer).")
    full_sync_period: int = option(
        INTEGER, 3600, min=0,
        help="Seconds over which the synchronisations spread one walk of every Ironic port, "
             "in pages of 1,000; the others read only the ports created or changed since "
             "(two small requests when none were). A port deleted from Ironic is filtered as "
             "unknown within about this period plus sync_period. 0 lists every port at "
             "every synchronisation.")
    deny_unknown_macs: bool = option(
        BOOLEAN, False,
        help="Deny MAC addresses unknown to Ironic too (no discovery; cannot be combined "
             "with [processing]node_not_found_hook).")


@section
class IptablesSection:
    """``[iptables]``: the ``iptables`` driver."""

    dnsmasq_interface: str = option(
        STRING, "br-ctlplane",
        help="Interface the DHCP server listens on; the filter applies to it.")
    firewall_chain: str = option(STRING, "ironic-inspector",
                                 help="iptables chain the filter manages.")
    ethoib_interfaces: list[str] = option(
        LIST, [],
        help="Ethernet-over-InfiniBand interfaces whose InfiniBand clients are filtered too.")
    ip_version: str = option(
        STRING, "4", choices=["4", "6"],
        help="IP version of the DHCP traffic filtered: 4 (iptables) or 6 (ip6tables).")


@section
class DnsmasqPxeFilterSection:
    """``[dnsmasq_pxe_filter]``: the ``dnsmasq`` driver."""

    dhcp_hostsdir: str = option(
        STRING, "/var/lib/ironic-inspector/dhcp-hostsdir",
        help="dnsmasq's --dhcp-hostsdir folder, holding one allow or deny file per MAC.")
    purge_dhcp_hostsdir: bool = option(
        BOOLEAN, True,
        help="Empty dhcp_hostsdir when the filter starts.")
    dnsmasq_start_command: str = option(
        STRING, "",
        help="Command run to start dnsmasq when the filter starts (empty: none).")
    dnsmasq_stop_command: str = option(
        STRING, "",
        help="Command run to stop dnsmasq when the filter stops (empty: none).")
