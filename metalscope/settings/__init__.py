"""Settings: the upstream ironic-inspector INI file, read with oslo.config into typed objects.

This package is the only one that imports oslo.config. Each section is a frozen dataclass
whose fields declare their options (:mod:`.option`); :func:`load_settings` reads the files
into a :class:`Settings`, which is passed explicitly to whatever needs it. Libraries that read
an oslo.config object themselves get it through :mod:`.libraries`;
:func:`render_sample_config` writes a commented sample file.
"""

from metalscope.settings.identity import (
    IronicSection,
    KeystoneAuthtokenSection,
    OsloPolicySection,
)
from metalscope.settings.loader import EMBEDDED_IRONIC_URL, build_conf, load_settings
from metalscope.settings.log_options import (
    CONTEXT_FORMAT,
    DEFAULT_FORMAT,
    DEFAULT_LOG_LEVELS,
    LoggingSection,
)
from metalscope.settings.middleware import CorsSection, HealthcheckSection, OsloMiddlewareSection
from metalscope.settings.model import SECTIONS, Settings
from metalscope.settings.processing import (
    DEFAULT_CPU_FLAGS,
    DEFAULT_HOOKS,
    AcceleratorsSection,
    CapabilitiesSection,
    DiscoverySection,
    ExtraHardwareSection,
    PciDevicesSection,
    PortPhysnetSection,
    ProcessingSection,
    SwiftSection,
)
from metalscope.settings.pxe_filter import (
    DnsmasqPxeFilterSection,
    IptablesSection,
    PxeFilterSection,
)
from metalscope.settings.sample import render_sample_config
from metalscope.settings.service import (
    CoordinationSection,
    DatabaseSection,
    DefaultSection,
    ExceptionSection,
    SslSection,
)

__all__ = [
    "CONTEXT_FORMAT", "DEFAULT_CPU_FLAGS", "DEFAULT_FORMAT", "DEFAULT_HOOKS", "DEFAULT_LOG_LEVELS",
    "EMBEDDED_IRONIC_URL", "SECTIONS", "AcceleratorsSection", "CapabilitiesSection",
    "CoordinationSection", "CorsSection", "DatabaseSection", "DefaultSection", "DiscoverySection",
    "DnsmasqPxeFilterSection", "ExceptionSection", "ExtraHardwareSection", "HealthcheckSection",
    "IptablesSection", "IronicSection", "KeystoneAuthtokenSection", "LoggingSection",
    "OsloMiddlewareSection", "OsloPolicySection", "PciDevicesSection", "PortPhysnetSection",
    "ProcessingSection", "PxeFilterSection", "Settings", "SslSection", "SwiftSection",
    "build_conf", "load_settings", "render_sample_config",
]
