"""The service's own sections: ``[DEFAULT]`` (listening, limits, housekeeping), ``[database]``,
``[coordination]``, ``[exception]`` and ``[ssl]``."""

from __future__ import annotations

import socket

from metalscope.settings.option import (
    BOOLEAN,
    FLOAT,
    INTEGER,
    LIST,
    PORT,
    STRING,
    computed,
    option,
    optional,
    section,
)

DEFAULT_IPMI_ADDRESS_FIELDS = ["redfish_address", "ilo_address", "drac_host", "drac_address",
                               "ibmc_address"]


def _fqdn() -> str:
    """This machine's fully qualified domain name (asked each time, never at import)."""
    return socket.getfqdn()


@section
class DefaultSection:
    """``[DEFAULT]``: the service itself (oslo.log's options are in :class:`LoggingSection`)."""

    listen_address: str = option(STRING, "::", help="Address the API listens on.")
    listen_port: int = option(PORT, 5050, help="TCP port the API listens on.")
    listen_unix_socket: str | None = optional(
        STRING, help="Path of a Unix socket to serve the API on instead of listen_address and "
                     "listen_port.")
    listen_unix_socket_mode: int | None = optional(
        INTEGER, help="File mode of listen_unix_socket in octal digits (such as 660); unset "
                      "keeps the mode the process umask gives.")
    host: str = computed(
        STRING, _fqdn, sample_default="<this machine's FQDN>",
        help="Name of this service instance, used in locks and leader election; defaults to "
             "the fully qualified domain name of the machine.")
    auth_strategy: str = option(
        STRING, "keystone", choices=["noauth", "keystone", "http_basic"],
        help="How API callers authenticate: 'keystone' validates tokens with Keystone and "
             "applies the policy rules, 'http_basic' checks an htpasswd file, 'noauth' lets "
             "everyone in.")
    http_basic_auth_user_file: str = option(
        STRING, "/etc/ironic-inspector/htpasswd",
        help="The htpasswd file (bcrypt entries) read when auth_strategy is http_basic.")
    timeout: int = option(
        INTEGER, 3600, max=315576000,
        help="Seconds an introspection may wait for the ramdisk before it is marked as "
             "timed out (0 or less: never).")
    clean_up_period: int = option(
        INTEGER, 60, min=0,
        help="Seconds between two housekeeping runs (timeouts, forgotten records, nodes gone "
             "from Ironic); 0 disables housekeeping.")
    leader_election_interval: int = option(
        INTEGER, 10,
        help="Seconds between two leader election rounds when several instances share a "
             "coordination backend.")
    use_ssl: bool = option(BOOLEAN, False,
                           help="Serve the API over TLS with the files of the [ssl] section.")
    max_concurrency: int = option(
        INTEGER, 1000, min=2,
        help="Size of upstream's worker pool; accepted for compatibility and not used.")
    introspection_delay: float = option(
        FLOAT, 5,
        help="Seconds to wait between powering on two nodes for introspection.")
    ipmi_address_fields: list[str] = option(
        LIST, DEFAULT_IPMI_ADDRESS_FIELDS,
        help="driver_info fields that may hold a node's BMC address, tried in order.")
    rootwrap_config: str = option(
        STRING, "/etc/ironic-inspector/rootwrap.conf",
        help="Upstream's rootwrap configuration; accepted for compatibility and not used.")
    api_max_limit: int = option(
        INTEGER, 1000, min=1,
        help="Largest number of items a list request returns at once.")
    can_manage_boot: bool = option(
        BOOLEAN, True,
        help="Whether this service may change a node's boot device and power state when "
             "introspection starts.")
    enable_mdns: bool = option(
        BOOLEAN, False,
        help="Advertise the API over mDNS; accepted for compatibility and not used.")
    standalone: bool = option(
        BOOLEAN, True,
        help="Upstream's deployment mode: ironic-inspector needs True, "
             "ironic-inspector-api-wsgi and ironic-inspector-conductor need False; "
             "metalscope serve runs every role in one process either way.")
    graceful_shutdown_timeout: int = option(
        INTEGER, 5, min=0,
        help="Seconds a stopping process (SIGTERM, SIGINT) gives requests and background "
             "steps in flight to finish before cancelling them; 0 waits without limit. "
             "oslo.service's option; its default there is 60.")
    transport_url: str | None = optional(
        STRING,
        help="Message bus URL of upstream's split mode; accepted for compatibility and not "
             "used.")
    node_status_keep_time: int = option(
        INTEGER, 0, min=0,
        help="Seconds after which a finished introspection record is forgotten; 0 keeps "
             "records until their node leaves Ironic.")
    max_continue_body_size: int = option(
        INTEGER, 8 * 1024 * 1024, min=1024,
        help="Largest ramdisk callback (/v1/continue) body accepted, in bytes; a larger one "
             "gets 413.")
    max_request_body_size: int = option(
        INTEGER, 1024 * 1024, min=1024,
        help="Largest body accepted by any other API request, in bytes.")
    data_dir: str = option(
        STRING, "metalscope-data",
        help="Folder of the embedded SQLite database and ramdisk logs when no configuration "
             "file is given.")
    max_header_line: int = option(
        INTEGER, 16384, min=1024,
        help="Longest request line or header line accepted, in bytes; a longer one gets 431.")
    max_header_count: int = option(
        INTEGER, 100, min=8,
        help="Most header lines accepted in one request; more get 431.")
    max_header_size: int = option(
        INTEGER, 65536, min=4096,
        help="Largest request head (request line plus headers) accepted, in bytes; a larger "
             "one gets 431.")
    header_timeout: float = option(
        FLOAT, 30.0, min=1,
        help="Seconds a client has to finish sending a request head it started; the "
             "connection is closed after that.")
    body_timeout: float = option(
        FLOAT, 120.0, min=1,
        help="Seconds a client has to send a whole request body; 408 after that.")
    max_parsing_bytes: int = option(
        INTEGER, 64 * 1024 * 1024, min=1024 * 1024,
        help="Bytes of callback and reapply bodies read or parsed at the same time across "
             "all requests; a body that does not fit waits its turn.")
    parsing_wait: float = option(
        FLOAT, 10.0, min=0,
        help="Seconds a body may wait for room under max_parsing_bytes before the request "
             "is answered 503 with Retry-After.")


@section
class DatabaseSection:
    """``[database]``: where introspection records, rules and data are kept."""

    connection: str = option(
        STRING, "sqlite:///ironic_inspector.sqlite", secret=True,
        help="SQLAlchemy URL of the database (SQLite, MariaDB/MySQL or PostgreSQL).")
    max_pool_size: int = option(
        INTEGER, 5, min=1,
        help="Connections kept open to a MariaDB/MySQL or PostgreSQL server.")
    max_overflow: int = option(
        INTEGER, 50, min=0,
        help="Extra connections opened beyond max_pool_size when all are busy.")
    pool_timeout: int = option(
        INTEGER, 30, min=1,
        help="Seconds to wait for a free connection before the request fails.")
    connection_recycle_time: int = option(
        INTEGER, 3600,
        help="Seconds after which a pooled connection is replaced by a fresh one.")


@section
class CoordinationSection:
    """``[coordination]``: how several instances share node locks and leadership."""

    backend_url: str = option(
        STRING, "memcached://localhost:11211", secret=True,
        help="Coordination backend URL (tooz style); empty means a single instance with "
             "in-process locks.")


@section
class ExceptionSection:
    """``[exception]``: upstream's exception formatting."""

    fatal_exception_format_errors: bool = option(
        BOOLEAN, False,
        help="Fail on badly formatted error messages; accepted for compatibility and not "
             "used.")


@section
class SslSection:
    """``[ssl]``: the API's TLS files, used when ``[DEFAULT]use_ssl`` is true."""

    cert_file: str | None = optional(STRING, help="PEM certificate (chain) the API presents.")
    key_file: str | None = optional(STRING, help="PEM private key of cert_file.")
    ca_file: str | None = optional(
        STRING, help="PEM CA bundle; when set, clients must present a certificate it signed.")
    version: str | None = optional(
        STRING, help="TLS protocol version; accepted for compatibility, versions are "
                     "negotiated.")
    ciphers: str | None = optional(
        STRING, help="OpenSSL cipher list the API offers (default: the Python defaults).")
