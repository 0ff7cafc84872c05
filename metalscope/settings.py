"""Settings: the upstream ironic-inspector INI file, read with oslo.config into typed objects.

This is the only module that imports oslo.config. Options keep upstream's sections, names
and defaults (spec section 11) so existing files load unchanged; unknown options are
ignored. :func:`load_settings` builds a private ``ConfigOpts`` (never the global ``CONF``)
and returns a frozen :class:`Settings`, which is passed explicitly to whatever needs it.

With no configuration file at all, MetalScope runs on *embedded defaults*: SQLite in a local
data folder, no authentication, the ``noop`` PXE filter, Ironic at http://127.0.0.1:6385
without authentication, and introspection data stored in the database.
"""

from __future__ import annotations

import dataclasses
import os
import socket
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from keystoneauth1 import loading as ks_loading
from oslo_config import cfg, types
from oslo_policy import opts as policy_opts

DEFAULT_HOOKS = "ramdisk_error,root_disk_selection,scheduler,validate_interfaces,capabilities,pci_devices"
DEFAULT_CPU_FLAGS = {"vmx": "cpu_vt", "svm": "cpu_vt", "aes": "cpu_aes", "pse": "cpu_hugepages",
                     "pdpe1gb": "cpu_hugepages_1g", "smx": "cpu_txt"}
EMBEDDED_IRONIC_URL = "http://127.0.0.1:6385"
#: oslo.log's defaults for ``[DEFAULT]default_log_levels``, plus MetalScope's own libraries.
DEFAULT_LOG_LEVELS = [
    "amqp=WARN", "boto=WARN", "sqlalchemy=WARN", "suds=INFO", "oslo.messaging=INFO",
    "oslo_messaging=INFO", "iso8601=WARN", "requests.packages.urllib3.connectionpool=WARN",
    "urllib3.connectionpool=WARN", "websocket=WARN", "requests.packages.urllib3.util.retry=WARN",
    "urllib3.util.retry=WARN", "keystonemiddleware=WARN", "routes.middleware=WARN",
    "stevedore=WARN", "taskflow=WARN", "keystoneauth=WARN", "oslo.cache=INFO", "oslo_policy=INFO",
    "dogpile.core.dogpile=INFO",
    "httpx=WARN", "httpcore=WARN", "uvicorn.access=WARN", "aiosqlite=WARN",
]
CONTEXT_FORMAT = ("%(asctime)s.%(msecs)03d %(process)d %(levelname)s %(name)s "
                  "[%(global_request_id)s %(request_id)s %(user_identity)s] %(instance)s%(message)s")
DEFAULT_FORMAT = "%(asctime)s.%(msecs)03d %(process)d %(levelname)s %(name)s [-] %(instance)s%(message)s"

#: oslo.log's options, with its names, deprecated names and defaults (``[DEFAULT]``).
_LOGGING_OPTS: list[cfg.Opt] = [
    cfg.BoolOpt("debug", default=False, mutable=True),
    cfg.StrOpt("log_config_append", deprecated_name="log-config", mutable=True),
    cfg.StrOpt("log_date_format", default="%Y-%m-%d %H:%M:%S"),
    cfg.StrOpt("log_file", deprecated_name="logfile"),
    cfg.StrOpt("log_dir", deprecated_name="logdir"),
    cfg.BoolOpt("watch_log_file", default=False),
    cfg.BoolOpt("use_syslog", default=False),
    cfg.BoolOpt("use_journal", default=False),
    cfg.StrOpt("syslog_log_facility", default="LOG_USER"),
    cfg.BoolOpt("use_json", default=False),
    cfg.BoolOpt("use_stderr", default=False),
    cfg.BoolOpt("log_color", default=False),
    cfg.BoolOpt("use_eventlog", default=False),
    cfg.IntOpt("log_rotate_interval", default=1),
    cfg.StrOpt("log_rotate_interval_type", default="days", ignore_case=True,
               choices=["Seconds", "Minutes", "Hours", "Days", "Weekday", "Midnight"]),
    cfg.IntOpt("max_logfile_count", default=30),
    cfg.IntOpt("max_logfile_size_mb", default=200),
    cfg.StrOpt("log_rotation_type", default="none", ignore_case=True,
               choices=["interval", "size", "none"]),
    cfg.StrOpt("logging_context_format_string", default=CONTEXT_FORMAT),
    cfg.StrOpt("logging_default_format_string", default=DEFAULT_FORMAT),
    cfg.StrOpt("logging_debug_format_suffix", default="%(funcName)s %(pathname)s:%(lineno)d"),
    cfg.StrOpt("logging_exception_prefix",
               default="%(asctime)s.%(msecs)03d %(process)d ERROR %(name)s %(instance)s"),
    cfg.StrOpt("logging_user_identity_format",
               default="%(user)s %(project)s %(domain)s %(system_scope)s %(user_domain)s "
                       "%(project_domain)s"),
    cfg.ListOpt("default_log_levels", default=DEFAULT_LOG_LEVELS),
    cfg.BoolOpt("publish_errors", default=False),
    cfg.StrOpt("instance_format", default="[instance: %(uuid)s] "),
    cfg.StrOpt("instance_uuid_format", default="[instance: %(uuid)s] "),
    cfg.IntOpt("rate_limit_interval", default=0),
    cfg.IntOpt("rate_limit_burst", default=0),
    cfg.StrOpt("rate_limit_except_level", default="CRITICAL",
               choices=["CRITICAL", "ERROR", "INFO", "WARNING", "DEBUG", ""]),
    cfg.BoolOpt("fatal_deprecations", default=False),
]

_OPTS: dict[str, list[cfg.Opt]] = {
    "DEFAULT": [
        cfg.StrOpt("listen_address", default="::"),
        cfg.PortOpt("listen_port", default=5050),
        cfg.StrOpt("listen_unix_socket"),
        cfg.Opt("listen_unix_socket_mode", type=types.Integer(), default=None),
        cfg.StrOpt("host", default=socket.getfqdn()),
        cfg.StrOpt("auth_strategy", default="keystone", choices=["noauth", "keystone", "http_basic"]),
        cfg.StrOpt("http_basic_auth_user_file", default="/etc/ironic-inspector/htpasswd"),
        cfg.IntOpt("timeout", default=3600, max=315576000),
        cfg.IntOpt("clean_up_period", default=60, min=0),
        cfg.IntOpt("leader_election_interval", default=10),
        cfg.BoolOpt("use_ssl", default=False),
        cfg.IntOpt("max_concurrency", default=1000, min=2),
        cfg.FloatOpt("introspection_delay", default=5),
        cfg.ListOpt("ipmi_address_fields", default=["redfish_address", "ilo_address", "drac_host",
                                                     "drac_address", "ibmc_address"]),
        cfg.StrOpt("rootwrap_config", default="/etc/ironic-inspector/rootwrap.conf"),
        cfg.IntOpt("api_max_limit", default=1000, min=1),
        cfg.BoolOpt("can_manage_boot", default=True),
        cfg.BoolOpt("enable_mdns", default=False),
        cfg.BoolOpt("standalone", default=True),
        *_LOGGING_OPTS,
        cfg.StrOpt("transport_url"),
        cfg.IntOpt("node_status_keep_time", default=0, min=0,
                   help="Forget finished introspection records this many seconds after they "
                        "finished (0, the default, keeps them until the node leaves Ironic)."),
        # MetalScope's own options.
        cfg.IntOpt("max_continue_body_size", default=8 * 1024 * 1024, min=1024,
                   help="Largest accepted /v1/continue body, in bytes (413 above)."),
        cfg.IntOpt("max_request_body_size", default=1024 * 1024, min=1024,
                   help="Largest accepted body of any other request, in bytes."),
        cfg.StrOpt("data_dir", default="metalscope-data",
                   help="Folder for the embedded SQLite database and ramdisk logs."),
        # Limits on what one client can make the server hold (MetalScope's own, except
        # max_header_line, which is oslo.service's name and default).
        cfg.IntOpt("max_header_line", default=16384, min=1024,
                   help="Longest accepted request line or header line, in bytes (431 above)."),
        cfg.IntOpt("max_header_count", default=100, min=8,
                   help="Most header lines accepted in one request (431 above)."),
        cfg.IntOpt("max_header_size", default=65536, min=4096,
                   help="Largest accepted request head (request line and every header), in "
                        "bytes (431 above)."),
        cfg.FloatOpt("header_timeout", default=30.0, min=1,
                     help="Seconds a client has to send a complete request head once it has "
                          "started one; the connection is closed after that."),
        cfg.FloatOpt("body_timeout", default=120.0, min=1,
                     help="Seconds a client has to send a whole request body; 408 after that."),
        cfg.IntOpt("max_parsing_bytes", default=64 * 1024 * 1024, min=1024 * 1024,
                   help="Bytes of ramdisk callback and reapply bodies being read or parsed "
                        "at once, across every request; a body that does not fit waits."),
        cfg.FloatOpt("parsing_wait", default=10.0, min=0,
                     help="Seconds a body waits for room under max_parsing_bytes before the "
                          "request gets 503 with Retry-After."),
    ],
    "processing": [
        cfg.StrOpt("add_ports", default="pxe", choices=["all", "active", "pxe", "disabled"]),
        cfg.StrOpt("keep_ports", default="all", choices=["all", "present", "added"]),
        cfg.BoolOpt("overwrite_existing", default=True),
        cfg.BoolOpt("update_pxe_enabled", default=True),
        cfg.StrOpt("default_processing_hooks", default=DEFAULT_HOOKS),
        cfg.StrOpt("processing_hooks", default="$default_processing_hooks"),
        cfg.StrOpt("ramdisk_logs_dir"),
        cfg.BoolOpt("always_store_ramdisk_logs", default=False),
        cfg.StrOpt("ramdisk_logs_filename_format", default="{uuid}_{dt:%Y%m%d-%H%M%S.%f}.tar.gz"),
        cfg.StrOpt("node_not_found_hook"),
        cfg.StrOpt("store_data", default="none"),
        cfg.BoolOpt("disk_partitioning_spacing", default=True),
        cfg.BoolOpt("power_off", default=True),
        cfg.BoolOpt("permit_active_introspection", default=False),
        # MetalScope's own.
        cfg.IntOpt("ramdisk_retry_window", default=300, min=0,
                   help="Seconds after a node finished during which a byte-identical retry of "
                        "the callback that finished it is answered again with 200 (0: never; "
                        "any other callback for a finished node gets upstream's 400)."),
        cfg.IntOpt("max_interfaces", default=1024, min=1,
                   help="Most network interfaces (and so MAC addresses) accepted in one "
                        "callback's inventory (400 above)."),
        cfg.FloatOpt("rule_regex_timeout", default=1.0, min=0.01,
                     help="Seconds one 'matches' or 'contains' condition may take on one "
                          "value; the node ends in error naming the rule after that."),
        cfg.FloatOpt("ironic_wait", default=20.0, min=0,
                     help="Seconds a ramdisk callback waits for an unreachable Ironic before "
                          "it is answered 503 (the node stays waiting for the ramdisk's "
                          "retry)."),
    ],
    "database": [
        cfg.StrOpt("connection", default="sqlite:///ironic_inspector.sqlite", secret=True),
        # oslo.db's pool options, with its defaults (PostgreSQL and MariaDB/MySQL only).
        cfg.IntOpt("max_pool_size", default=5, min=1),
        cfg.IntOpt("max_overflow", default=50, min=0),
        cfg.IntOpt("pool_timeout", default=30, min=1),
        cfg.IntOpt("connection_recycle_time", default=3600),
    ],
    "ironic": [
        cfg.IntOpt("retry_interval", default=2),
        cfg.IntOpt("max_retries", default=30),
        cfg.FloatOpt("connection_idle_timeout", default=4.0, min=0,
                     help="Seconds an idle keep-alive connection to Ironic is kept for reuse "
                          "(MetalScope's own; below the 10 s after which Ironic's server "
                          "closes it; 0 opens a connection per request)."),
    ],
    "pxe_filter": [
        cfg.StrOpt("driver", default="iptables"),
        cfg.IntOpt("sync_period", default=15, min=0),
        cfg.BoolOpt("deny_unknown_macs", default=False),
    ],
    "iptables": [
        cfg.StrOpt("dnsmasq_interface", default="br-ctlplane"),
        cfg.StrOpt("firewall_chain", default="ironic-inspector"),
        cfg.ListOpt("ethoib_interfaces", default=[]),
        cfg.StrOpt("ip_version", default="4", choices=["4", "6"]),
    ],
    "dnsmasq_pxe_filter": [
        cfg.StrOpt("dhcp_hostsdir", default="/var/lib/ironic-inspector/dhcp-hostsdir"),
        cfg.BoolOpt("purge_dhcp_hostsdir", default=True),
        cfg.StrOpt("dnsmasq_start_command", default=""),
        cfg.StrOpt("dnsmasq_stop_command", default=""),
    ],
    "discovery": [
        cfg.StrOpt("enroll_node_driver", default="fake-hardware"),
        cfg.DictOpt("enroll_node_fields", default={}),
        cfg.ListOpt("enabled_bmc_address_version", default=["4", "6"]),
    ],
    "capabilities": [
        cfg.BoolOpt("boot_mode", default=False),
        cfg.DictOpt("cpu_flags", default=DEFAULT_CPU_FLAGS),
    ],
    "pci_devices": [cfg.MultiStrOpt("alias", default=[])],
    "extra_hardware": [cfg.BoolOpt("strict", default=False)],
    "accelerators": [cfg.StrOpt("known_devices")],
    "port_physnet": [cfg.ListOpt("cidr_map", default=[])],
    "swift": [
        cfg.StrOpt("container", default="ironic-inspector"),
        cfg.IntOpt("delete_after", default=0),
    ],
    "exception": [cfg.BoolOpt("fatal_exception_format_errors", default=False)],
    "coordination": [cfg.StrOpt("backend_url", default="memcached://localhost:11211", secret=True)],
    "healthcheck": [
        cfg.BoolOpt("enabled", default=False),
        cfg.BoolOpt("detailed", default=False),
        cfg.ListOpt("backends", default=[]),
        cfg.ListOpt("allowed_source_ranges", default=[]),
        cfg.BoolOpt("ignore_proxied_requests", default=False),
        cfg.StrOpt("path", default="/healthcheck"),
        cfg.StrOpt("disable_by_file_path"),
        cfg.ListOpt("disable_by_file_paths", default=[]),
        cfg.ListOpt("enable_by_file_paths", default=[]),
    ],
    "oslo_middleware": [
        # Unset (upstream's behaviour: its WSGI app always honours X-Forwarded-*), True
        # (honoured) or False (ignored).
        cfg.BoolOpt("enable_proxy_headers_parsing", default=None),
        cfg.IntOpt("max_request_body_size", default=114688),
    ],
    # oslo.policy's own options, so its Enforcer can read them from the same ConfigOpts.
    "oslo_policy": [opt for _group, opts in policy_opts.list_opts() for opt in opts],
    # keystonemiddleware's names and defaults; the auth plugin options (auth_url, username,
    # ...) and cafile/certfile/keyfile/insecure are keystoneauth's, registered in build_conf.
    "keystone_authtoken": [
        cfg.StrOpt("www_authenticate_uri", deprecated_name="auth_uri"),
        cfg.StrOpt("auth_version"),
        cfg.StrOpt("interface", default="internal"),
        cfg.BoolOpt("delay_auth_decision", default=False),
        cfg.IntOpt("http_connect_timeout"),
        cfg.IntOpt("http_request_max_retries", default=3),
        cfg.StrOpt("cache"),
        cfg.StrOpt("region_name"),
        cfg.ListOpt("memcached_servers", deprecated_name="memcache_servers"),
        cfg.IntOpt("token_cache_time", default=300),
        cfg.BoolOpt("include_service_catalog", default=True),
        cfg.StrOpt("enforce_token_bind", default="permissive"),
        cfg.ListOpt("service_token_roles", default=["service"]),
        cfg.BoolOpt("service_token_roles_required", default=True),
        cfg.StrOpt("service_type"),
        cfg.IntOpt("token_cache_size", default=10000, min=1,
                   help="Most validated tokens remembered at once (MetalScope's own)."),
    ],
    "cors": [
        cfg.ListOpt("allowed_origin", default=[]),
        cfg.BoolOpt("allow_credentials", default=True),
        cfg.ListOpt("expose_headers", default=[]),
        cfg.IntOpt("max_age", default=3600),
        cfg.ListOpt("allow_methods", default=["GET", "POST", "PUT", "HEAD", "PATCH", "DELETE", "OPTIONS"]),
        cfg.ListOpt("allow_headers", default=[
            "X-Auth-Token", "X-OpenStack-Ironic-Inspector-API-Minimum-Version",
            "X-OpenStack-Ironic-Inspector-API-Maximum-Version",
            "X-OpenStack-Ironic-Inspector-API-Version"]),
    ],
    "ssl": [
        cfg.StrOpt("cert_file"),
        cfg.StrOpt("key_file"),
        cfg.StrOpt("ca_file"),
        cfg.StrOpt("version"),
        cfg.StrOpt("ciphers"),
    ],
}


@dataclass(frozen=True)
class DefaultSection:
    listen_address: str
    listen_port: int
    listen_unix_socket: str | None
    listen_unix_socket_mode: int | None
    host: str
    auth_strategy: str
    http_basic_auth_user_file: str
    timeout: int
    clean_up_period: int
    leader_election_interval: int
    use_ssl: bool
    max_concurrency: int
    introspection_delay: float
    ipmi_address_fields: list[str]
    api_max_limit: int
    can_manage_boot: bool
    standalone: bool
    node_status_keep_time: int
    max_continue_body_size: int
    max_request_body_size: int
    data_dir: str
    max_header_line: int = 16384
    max_header_count: int = 100
    max_header_size: int = 65536
    header_timeout: float = 30.0
    body_timeout: float = 120.0
    max_parsing_bytes: int = 64 * 1024 * 1024
    parsing_wait: float = 10.0


@dataclass(frozen=True)
class ProcessingSection:
    add_ports: str
    keep_ports: str
    overwrite_existing: bool
    update_pxe_enabled: bool
    default_processing_hooks: str
    processing_hooks: str
    ramdisk_logs_dir: str | None
    always_store_ramdisk_logs: bool
    ramdisk_logs_filename_format: str
    node_not_found_hook: str | None
    store_data: str
    disk_partitioning_spacing: bool
    power_off: bool
    permit_active_introspection: bool
    ramdisk_retry_window: int
    max_interfaces: int = 1024
    rule_regex_timeout: float = 1.0
    ironic_wait: float = 20.0

    @property
    def hook_names(self) -> list[str]:
        return [name.strip() for name in self.processing_hooks.split(",") if name.strip()]


@dataclass(frozen=True)
class DatabaseSection:
    connection: str
    max_pool_size: int = 5
    max_overflow: int = 50
    pool_timeout: int = 30
    connection_recycle_time: int = 3600


@dataclass(frozen=True)
class IronicSection:
    retry_interval: int
    max_retries: int
    connection_idle_timeout: float = 4.0


@dataclass(frozen=True)
class PxeFilterSection:
    driver: str
    sync_period: int
    deny_unknown_macs: bool


@dataclass(frozen=True)
class IptablesSection:
    dnsmasq_interface: str
    firewall_chain: str
    ethoib_interfaces: list[str]
    ip_version: str


@dataclass(frozen=True)
class DnsmasqPxeFilterSection:
    dhcp_hostsdir: str
    purge_dhcp_hostsdir: bool
    dnsmasq_start_command: str
    dnsmasq_stop_command: str


@dataclass(frozen=True)
class DiscoverySection:
    enroll_node_driver: str
    enroll_node_fields: dict[str, str]
    enabled_bmc_address_version: list[str]


@dataclass(frozen=True)
class CapabilitiesSection:
    boot_mode: bool
    cpu_flags: dict[str, str]


@dataclass(frozen=True)
class PciDevicesSection:
    alias: list[str]


@dataclass(frozen=True)
class ExtraHardwareSection:
    strict: bool


@dataclass(frozen=True)
class AcceleratorsSection:
    known_devices: str | None


@dataclass(frozen=True)
class PortPhysnetSection:
    cidr_map: list[str]


@dataclass(frozen=True)
class SwiftSection:
    container: str
    delete_after: int


@dataclass(frozen=True)
class CoordinationSection:
    backend_url: str


@dataclass(frozen=True)
class HealthcheckSection:
    enabled: bool
    detailed: bool
    backends: list[str]
    allowed_source_ranges: list[str]
    ignore_proxied_requests: bool
    path: str
    disable_by_file_path: str | None
    disable_by_file_paths: list[str]
    enable_by_file_paths: list[str]


@dataclass(frozen=True)
class OsloMiddlewareSection:
    #: None (unset) behaves as upstream: the forwarded headers are honoured.
    enable_proxy_headers_parsing: bool | None
    max_request_body_size: int


@dataclass(frozen=True)
class LoggingSection:
    """oslo.log's options, read from ``[DEFAULT]``."""

    debug: bool
    log_config_append: str | None
    log_date_format: str
    log_file: str | None
    log_dir: str | None
    watch_log_file: bool
    use_syslog: bool
    use_journal: bool
    syslog_log_facility: str
    use_json: bool
    use_stderr: bool
    log_color: bool
    log_rotate_interval: int
    log_rotate_interval_type: str
    max_logfile_count: int
    max_logfile_size_mb: int
    log_rotation_type: str
    logging_context_format_string: str
    logging_default_format_string: str
    logging_debug_format_suffix: str
    logging_exception_prefix: str
    logging_user_identity_format: str
    default_log_levels: list[str]
    publish_errors: bool
    instance_format: str
    instance_uuid_format: str
    rate_limit_interval: int
    rate_limit_burst: int
    rate_limit_except_level: str


@dataclass(frozen=True)
class OsloPolicySection:
    policy_file: str
    enforce_scope: bool
    enforce_new_defaults: bool


@dataclass(frozen=True)
class KeystoneAuthtokenSection:
    www_authenticate_uri: str | None
    interface: str
    http_connect_timeout: int | None
    http_request_max_retries: int
    region_name: str | None
    token_cache_time: int
    token_cache_size: int
    cafile: str | None
    certfile: str | None
    keyfile: str | None
    insecure: bool


@dataclass(frozen=True)
class CorsSection:
    allowed_origin: list[str]
    allow_credentials: bool
    expose_headers: list[str]
    max_age: int
    allow_methods: list[str]
    allow_headers: list[str]


@dataclass(frozen=True)
class SslSection:
    cert_file: str | None
    key_file: str | None
    ca_file: str | None
    version: str | None
    ciphers: str | None


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
    #: True when no configuration file was given and embedded defaults apply.
    embedded: bool = False
    #: The oslo.config object, kept only for keystoneauth (``[ironic]`` auth plugin loading).
    conf: Any = field(default=None, compare=False, repr=False)
    config_files: tuple[str, ...] = ()

    def differs_from_default(self, section: str, option: str) -> bool:
        """Whether the files (or overrides) set ``[section]option`` to something else than
        its registered default; False for an option nobody registered."""
        registered = [opt for opt in _OPTS.get(section, []) if opt.name == option]
        if self.conf is None or not registered:
            return False
        group = self.conf if section == "DEFAULT" else self.conf[section]
        return bool(group[option] != registered[0].default)

    def replace(self, **sections: Any) -> Settings:
        """A copy with some sections replaced (tests and the demo use this)."""
        return dataclasses.replace(self, **sections)


_SECTION_TYPES: dict[str, type] = {
    "DEFAULT": DefaultSection, "processing": ProcessingSection, "database": DatabaseSection,
    "ironic": IronicSection, "pxe_filter": PxeFilterSection, "iptables": IptablesSection,
    "dnsmasq_pxe_filter": DnsmasqPxeFilterSection, "discovery": DiscoverySection,
    "capabilities": CapabilitiesSection, "pci_devices": PciDevicesSection,
    "extra_hardware": ExtraHardwareSection, "accelerators": AcceleratorsSection,
    "port_physnet": PortPhysnetSection, "swift": SwiftSection,
    "coordination": CoordinationSection, "healthcheck": HealthcheckSection,
    "oslo_middleware": OsloMiddlewareSection, "logging": LoggingSection,
    "oslo_policy": OsloPolicySection, "keystone_authtoken": KeystoneAuthtokenSection,
    "cors": CorsSection, "ssl": SslSection,
}


def build_conf() -> cfg.ConfigOpts:
    """A fresh ConfigOpts with every option MetalScope knows registered."""
    conf = cfg.ConfigOpts()
    for section, opts in _OPTS.items():
        if section in _SECTION_GROUPS:
            conf.register_opts(opts)
        else:
            conf.register_opts(opts, group=section)
    ks_loading.register_session_conf_options(conf, "ironic")
    ks_loading.register_auth_conf_options(conf, "ironic")
    ks_loading.register_adapter_conf_options(conf, "ironic")
    conf.set_default("auth_type", "password", group="ironic")
    conf.set_default("service_type", "baremetal", group="ironic")
    conf.set_default("valid_interfaces", ["internal", "public"], group="ironic")
    if "enforce_scope" not in conf.oslo_policy:
        # Recent oslo.policy dropped it (scope_types are always enforced, and upstream's
        # rules declare none); still accepted so that existing files load.
        conf.register_opt(cfg.BoolOpt("enforce_scope", default=True), group="oslo_policy")
    ks_loading.register_session_conf_options(conf, "keystone_authtoken")
    ks_loading.register_auth_conf_options(conf, "keystone_authtoken")
    return conf


def _embedded_overrides(conf: cfg.ConfigOpts) -> None:
    data_dir = Path(conf.data_dir).absolute()
    conf.set_default("listen_address", "0.0.0.0")
    conf.set_default("auth_strategy", "noauth")
    conf.set_default("connection", f"sqlite:///{data_dir / 'metalscope.sqlite'}", group="database")
    conf.set_default("driver", "noop", group="pxe_filter")
    conf.set_default("store_data", "database", group="processing")
    conf.set_default("ramdisk_logs_dir", str(data_dir / "ramdisk-logs"), group="processing")
    conf.set_default("auth_type", "none", group="ironic")
    conf.set_default("endpoint_override", EMBEDDED_IRONIC_URL, group="ironic")
    conf.set_default("backend_url", "", group="coordination")


#: Sections read from another INI section than their name (oslo.log's options are in DEFAULT).
_SECTION_GROUPS = {"DEFAULT": None, "logging": None}


def _section(conf: cfg.ConfigOpts, name: str) -> Any:
    group = conf if name in _SECTION_GROUPS else conf[name]
    kind = _SECTION_TYPES[name]
    values = {f.name: _plain(group[f.name]) for f in dataclasses.fields(kind)}
    return kind(**values)


def _plain(value: Any) -> Any:
    if isinstance(value, list):
        return list(value)
    if isinstance(value, dict):
        return dict(value)
    return value


def load_settings(config_files: list[str] | None = None, config_dirs: list[str] | None = None,
                  overrides: dict[str, dict[str, Any]] | None = None) -> Settings:
    """Read the INI file(s) (or the embedded defaults) into a Settings object.

    ``overrides`` maps a section name to option values set on top of the files; tests and the
    demo use it instead of writing files.
    """
    config_files = list(config_files or [])
    config_dirs = list(config_dirs or [])
    for path in config_files + config_dirs:
        if not os.path.exists(path):
            raise FileNotFoundError(f"Configuration file or folder {path} does not exist")
    conf = build_conf()
    embedded = not config_files and not config_dirs
    args: list[str] = []
    for path in config_files:
        args += ["--config-file", path]
    for path in config_dirs:
        args += ["--config-dir", path]
    conf(args, project="metalscope", default_config_files=[], default_config_dirs=[],
         validate_default_values=True, use_env=False)
    if embedded:
        _embedded_overrides(conf)
    for section, values in (overrides or {}).items():
        for key, value in values.items():
            conf.set_override(key, value,
                              group=None if section in _SECTION_GROUPS else section)
    return Settings(**{("default" if name == "DEFAULT" else name): _section(conf, name)
                       for name in _SECTION_TYPES},
                    embedded=embedded, conf=conf, config_files=tuple(config_files))
