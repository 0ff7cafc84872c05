"""How ramdisk data is processed: ``[processing]`` and the sections of individual hooks
(``[discovery]``, ``[capabilities]``, ``[pci_devices]``, ``[extra_hardware]``,
``[accelerators]``, ``[port_physnet]``). Where the data is kept (``[swift]``) is in
:mod:`metalscope.settings.identity`."""

from __future__ import annotations

from metalscope.settings.option import (
    BOOLEAN,
    DICT,
    FLOAT,
    INTEGER,
    LIST,
    MULTI_STRING,
    STRING,
    option,
    optional,
    section,
)

DEFAULT_HOOKS = ("ramdisk_error,root_disk_selection,scheduler,validate_interfaces,capabilities,"
                 "pci_devices")
DEFAULT_CPU_FLAGS = {"vmx": "cpu_vt", "svm": "cpu_vt", "aes": "cpu_aes", "pse": "cpu_hugepages",
                     "pdpe1gb": "cpu_hugepages_1g", "smx": "cpu_txt"}


@section
class ProcessingSection:
    """``[processing]``: what a ramdisk callback changes in Ironic, and its limits."""

    add_ports: str = option(
        STRING, "pxe", choices=["all", "active", "pxe", "disabled"],
        help="Which interfaces get an Ironic port: all, those with an IP address (active), "
             "only the PXE one (pxe), or none (disabled).")
    keep_ports: str = option(
        STRING, "all", choices=["all", "present", "added"],
        help="Which existing Ironic ports are kept: all, those whose MAC is in the inventory "
             "(present), or only those add_ports chose (added).")
    overwrite_existing: bool = option(
        BOOLEAN, True,
        help="Whether processing may overwrite node properties that are already set.")
    update_pxe_enabled: bool = option(
        BOOLEAN, True,
        help="Set each port's pxe_enabled flag from whether the node booted from it.")
    default_processing_hooks: str = option(
        STRING, DEFAULT_HOOKS,
        help="Comma-separated hooks that processing_hooks refers to as "
             "$default_processing_hooks; change processing_hooks instead.")
    processing_hooks: str = option(
        STRING, "$default_processing_hooks",
        help="Comma-separated processing hooks run on each callback, in order.")
    ramdisk_logs_dir: str | None = optional(
        STRING, help="Folder where the ramdisk's logs are stored; unset does not store them.")
    always_store_ramdisk_logs: bool = option(
        BOOLEAN, False,
        help="Store the ramdisk's logs after successful runs too, not only failed ones.")
    ramdisk_logs_filename_format: str = option(
        STRING, "{uuid}_{dt:%Y%m%d-%H%M%S.%f}.tar.gz",
        help="File name of stored ramdisk logs: a Python format string with {uuid}, {mac}, "
             "{bmc} and {dt} (a UTC datetime).")
    node_not_found_hook: str | None = optional(
        STRING, help="Hook run when a callback matches no node (such as 'enroll' for "
                     "discovery); unset rejects the callback.")
    store_data: str = option(
        STRING, "none",
        help="Where introspection data is stored: 'none', 'database' or 'swift' (see "
             "[swift]).")
    disk_partitioning_spacing: bool = option(
        BOOLEAN, True,
        help="Record the root disk one GiB smaller than it is (local_gb), leaving room for "
             "partitioning.")
    power_off: bool = option(
        BOOLEAN, True,
        help="Power the node off when its introspection finishes (when this service manages "
             "its boot).")
    permit_active_introspection: bool = option(
        BOOLEAN, False,
        help="Accept callbacks from nodes in the active state and process them.")
    ramdisk_retry_window: int = option(
        INTEGER, 300, min=0,
        help="Seconds after a node finished during which a byte-identical retry of its last "
             "callback is answered 200 again (0: never); other callbacks for a finished node "
             "get 400.")
    max_interfaces: int = option(
        INTEGER, 1024, min=1,
        help="Most network interfaces (MAC addresses) accepted in one callback's inventory; "
             "more get 400.")
    rule_regex_timeout: float = option(
        FLOAT, 1.0, min=0.01,
        help="Seconds one 'matches' or 'contains' rule condition may spend on one value; the "
             "node ends in error naming the rule after that.")
    ironic_wait: float = option(
        FLOAT, 20.0, min=0,
        help="Seconds a callback waits for an unreachable Ironic before it is answered 503 "
             "(the node keeps waiting for the ramdisk to retry).")

    @property
    def hook_names(self) -> list[str]:
        return [name.strip() for name in self.processing_hooks.split(",") if name.strip()]


@section
class DiscoverySection:
    """``[discovery]``: nodes enrolled by the ``enroll`` not-found hook."""

    enroll_node_driver: str = option(STRING, "fake-hardware",
                                     help="Ironic driver of enrolled nodes.")
    enroll_node_fields: dict[str, str] = option(
        DICT, {}, help="Further fields set on enrolled nodes (key:value pairs).")
    enabled_bmc_address_version: list[str] = option(
        LIST, ["4", "6"],
        help="IP versions of BMC addresses used to find a node that is already enrolled.")


@section
class CapabilitiesSection:
    """``[capabilities]``: the ``capabilities`` hook."""

    boot_mode: bool = option(BOOLEAN, False,
                             help="Add the boot mode (bios or uefi) to the node capabilities.")
    cpu_flags: dict[str, str] = option(
        DICT, DEFAULT_CPU_FLAGS,
        help="CPU flag:capability pairs; a capability is set to true when the CPU has the "
             "flag.")


@section
class PciDevicesSection:
    """``[pci_devices]``: the ``pci_devices`` hook."""

    alias: list[str] = option(
        MULTI_STRING, [],
        help="A JSON object with vendor_id, product_id and name; nodes get a capability "
             "counting their devices of that kind (repeat the line for more).")


@section
class ExtraHardwareSection:
    """``[extra_hardware]``: the ``extra_hardware`` hook."""

    strict: bool = option(
        BOOLEAN, False,
        help="Accept the ramdisk's extra data only when every item has exactly four fields.")


@section
class AcceleratorsSection:
    """``[accelerators]``: the ``accelerators`` hook."""

    known_devices: str | None = optional(
        STRING, help="YAML file listing the accelerator devices to recognise (default: the "
                     "list shipped with MetalScope).")


@section
class PortPhysnetSection:
    """``[port_physnet]``: the ``physnet_cidr_map`` hook."""

    cidr_map: list[str] = option(
        LIST, [],
        help="CIDR:physnet pairs; a port whose address falls in a CIDR gets that physical "
             "network.")
