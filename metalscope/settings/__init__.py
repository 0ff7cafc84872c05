"""Settings: the upstream ironic-inspector INI file, read with oslo.config into typed objects.

This package is the only one that imports oslo.config. Each section is a frozen dataclass
whose fields declare their options (:mod:`.option`); :func:`load_settings` reads the files
into a :class:`Settings`, which is passed explicitly to whatever needs it. Libraries that read
an oslo.config object themselves get it through :mod:`.libraries`;
:func:`render_sample_config` writes a commented sample file. The other section classes and
constants are imported from their modules.
"""

from metalscope.settings.loader import load_settings
from metalscope.settings.log_options import CONTEXT_FORMAT, DEFAULT_FORMAT, LoggingSection
from metalscope.settings.middleware import CorsSection, HealthcheckSection
from metalscope.settings.model import SECTIONS, Settings
from metalscope.settings.processing import DiscoverySection, ProcessingSection
from metalscope.settings.sample import render_sample_config
from metalscope.settings.service import SslSection

__all__ = [
    "CONTEXT_FORMAT", "DEFAULT_FORMAT", "SECTIONS", "CorsSection", "DiscoverySection",
    "HealthcheckSection", "LoggingSection", "ProcessingSection", "Settings", "SslSection",
    "load_settings", "render_sample_config",
]
