"""The :class:`Settings` object: one typed section per INI section, and where each is read."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from metalscope.settings.drift import DriftSection
from metalscope.settings.follower import FollowerSection
from metalscope.settings.history import HistorySection
from metalscope.settings.identity import (
    IronicSection,
    KeystoneAuthtokenSection,
    OsloPolicySection,
    SwiftSection,
)
from metalscope.settings.log_options import LoggingSection
from metalscope.settings.metrics import MetricsSection
from metalscope.settings.middleware import CorsSection, HealthcheckSection, OsloMiddlewareSection
from metalscope.settings.option import declared
from metalscope.settings.processing import (
    AcceleratorsSection,
    CapabilitiesSection,
    DiscoverySection,
    ExtraHardwareSection,
    PciDevicesSection,
    PortPhysnetSection,
    ProcessingSection,
)
from metalscope.settings.pxe_filter import (
    DnsmasqPxeFilterSection,
    IptablesSection,
    PxeFilterSection,
)
from metalscope.settings.redfish import RedfishSection
from metalscope.settings.service import (
    CoordinationSection,
    DatabaseSection,
    DefaultSection,
    ExceptionSection,
    SslSection,
)

#: Settings attribute → (INI section, section class), in the order of the sample file.
SECTIONS: dict[str, tuple[str, type]] = {
    "default": ("DEFAULT", DefaultSection),
    "logging": ("DEFAULT", LoggingSection),
    "accelerators": ("accelerators", AcceleratorsSection),
    "capabilities": ("capabilities", CapabilitiesSection),
    "coordination": ("coordination", CoordinationSection),
    "cors": ("cors", CorsSection),
    "database": ("database", DatabaseSection),
    "discovery": ("discovery", DiscoverySection),
    "dnsmasq_pxe_filter": ("dnsmasq_pxe_filter", DnsmasqPxeFilterSection),
    "drift": ("drift", DriftSection),
    "exception": ("exception", ExceptionSection),
    "extra_hardware": ("extra_hardware", ExtraHardwareSection),
    "follower": ("follower", FollowerSection),
    "healthcheck": ("healthcheck", HealthcheckSection),
    "history": ("history", HistorySection),
    "iptables": ("iptables", IptablesSection),
    "ironic": ("ironic", IronicSection),
    "keystone_authtoken": ("keystone_authtoken", KeystoneAuthtokenSection),
    "metrics": ("metrics", MetricsSection),
    "oslo_middleware": ("oslo_middleware", OsloMiddlewareSection),
    "oslo_policy": ("oslo_policy", OsloPolicySection),
    "pci_devices": ("pci_devices", PciDevicesSection),
    "port_physnet": ("port_physnet", PortPhysnetSection),
    "processing": ("processing", ProcessingSection),
    "pxe_filter": ("pxe_filter", PxeFilterSection),
    "redfish": ("redfish", RedfishSection),
    "ssl": ("ssl", SslSection),
    "swift": ("swift", SwiftSection),
}


class ConfigSources:
    """The oslo.config object the settings were read from.

    Only :mod:`metalscope.settings.libraries` opens it, for the libraries that read their
    options themselves (keystoneauth, oslo.policy).
    """

    def __init__(self, conf: Any) -> None:
        self.conf = conf


@dataclass(frozen=True)
class Settings:
    """Every option MetalScope reads, one typed section per INI section."""

    default: DefaultSection
    processing: ProcessingSection
    database: DatabaseSection
    ironic: IronicSection
    pxe_filter: PxeFilterSection
    iptables: IptablesSection
    dnsmasq_pxe_filter: DnsmasqPxeFilterSection
    discovery: DiscoverySection
    drift: DriftSection
    capabilities: CapabilitiesSection
    pci_devices: PciDevicesSection
    extra_hardware: ExtraHardwareSection
    accelerators: AcceleratorsSection
    port_physnet: PortPhysnetSection
    swift: SwiftSection
    coordination: CoordinationSection
    healthcheck: HealthcheckSection
    oslo_middleware: OsloMiddlewareSection
    logging: LoggingSection
    oslo_policy: OsloPolicySection
    keystone_authtoken: KeystoneAuthtokenSection
    cors: CorsSection
    ssl: SslSection
    exception: ExceptionSection
    history: HistorySection
    metrics: MetricsSection
    redfish: RedfishSection
    follower: FollowerSection
    #: True when no configuration file was given and embedded defaults apply.
    embedded: bool = False
    config_files: tuple[str, ...] = ()
    #: Where the values were read from (for keystoneauth and oslo.policy).
    sources: ConfigSources | None = field(default=None, compare=False, repr=False)

    def differs_from_default(self, section: str, option: str) -> bool:
        """Whether the files (or overrides) set ``[section]option`` to something else than
        its declared default; False for an option no section declares a default of."""
        for name, (ini_section, kind) in SECTIONS.items():
            for item in declared(kind):
                if ini_section == section and item.name == option and item.has_default:
                    value = getattr(getattr(self, name), option)
                    return bool(value != item.declaration.default)
        return False

    def replace(self, **sections: Any) -> Settings:
        """A copy with some sections replaced (tests and the demo use this)."""
        return dataclasses.replace(self, **sections)
