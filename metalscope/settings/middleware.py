"""oslo.middleware's sections, with its names and defaults: ``[healthcheck]``,
``[oslo_middleware]`` and ``[cors]``."""

from __future__ import annotations

from metalscope.settings.option import BOOLEAN, INTEGER, LIST, STRING, option, optional, section

DEFAULT_CORS_METHODS = ["GET", "POST", "PUT", "HEAD", "PATCH", "DELETE", "OPTIONS"]
DEFAULT_CORS_HEADERS = ["X-Auth-Token", "X-OpenStack-Ironic-Inspector-API-Minimum-Version",
                        "X-OpenStack-Ironic-Inspector-API-Maximum-Version",
                        "X-OpenStack-Ironic-Inspector-API-Version"]


@section
class HealthcheckSection:
    """``[healthcheck]``: the health check endpoint."""

    enabled: bool = option(BOOLEAN, False, help="Serve the health check endpoint.")
    detailed: bool = option(
        BOOLEAN, False,
        help="Include details (backend reasons, process information) in authorised answers.")
    backends: list[str] = option(
        LIST, [],
        help="Health check backends consulted, such as disable_by_file or "
             "disable_by_files_ports.")
    allowed_source_ranges: list[str] = option(
        LIST, [],
        help="CIDRs allowed to call the endpoint (empty: everyone).")
    ignore_proxied_requests: bool = option(
        BOOLEAN, False,
        help="Refuse requests that came through a proxy (X-Forwarded-For and the like).")
    path: str = option(STRING, "/healthcheck",
                       help="Path of the health check endpoint.")
    disable_by_file_path: str | None = optional(
        STRING, help="disable_by_file backend: the endpoint reports failure while this file "
                     "exists.")
    disable_by_file_paths: list[str] = option(
        LIST, [],
        help="disable_by_files_ports backend: port:path pairs, one file per listening port.")
    enable_by_file_paths: list[str] = option(
        LIST, [],
        help="enable_by_files backend: files that must all exist for the endpoint to report "
             "success.")


@section
class OsloMiddlewareSection:
    """``[oslo_middleware]``: proxy headers and upstream's body limit."""

    enable_proxy_headers_parsing: bool | None = optional(
        BOOLEAN,
        help="Honour X-Forwarded-* and Forwarded headers from a proxy; unset behaves as "
             "upstream (honoured).")
    max_request_body_size: int = option(
        INTEGER, 114688,
        help="Upstream's request body limit; accepted for compatibility and not used (see "
             "[DEFAULT]max_continue_body_size and max_request_body_size).")


@section
class CorsSection:
    """``[cors]``: cross-origin requests from browsers."""

    allowed_origin: list[str] = option(
        LIST, [],
        help="Origins allowed to call the API from a browser (empty: none).")
    allow_credentials: bool = option(
        BOOLEAN, True, help="Let cross-origin requests carry credentials.")
    expose_headers: list[str] = option(
        LIST, [], help="Response headers a browser may show to the calling page.")
    max_age: int = option(INTEGER, 3600,
                          help="Seconds a browser may cache a preflight answer.")
    allow_methods: list[str] = option(
        LIST, DEFAULT_CORS_METHODS, help="Methods allowed in cross-origin requests.")
    allow_headers: list[str] = option(
        LIST, DEFAULT_CORS_HEADERS,
        help="Request headers allowed in cross-origin requests.")
