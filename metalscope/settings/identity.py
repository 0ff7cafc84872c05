"""Talking to other OpenStack services: ``[ironic]``, ``[swift]``, ``[keystone_authtoken]`` and
``[oslo_policy]``.

keystoneauth registers its own session, authentication and adapter options in ``[ironic]``,
``[swift]`` and ``[keystone_authtoken]``, and oslo.policy its options in ``[oslo_policy]``;
the fields declared with :func:`library` read some of them (and may change their default).
"""

from __future__ import annotations

from metalscope.settings.option import (
    BOOLEAN,
    FLOAT,
    INTEGER,
    LIST,
    STRING,
    library,
    option,
    optional,
    section,
)

KEYSTONEAUTH = "keystoneauth1"
OSLO_POLICY = "oslo.policy"


@section
class IronicSection:
    """``[ironic]``: how to reach the Ironic API (keystoneauth's options, and retries)."""

    retry_interval: int = option(
        INTEGER, 2, help="Seconds between two attempts of a failed Ironic request.")
    max_retries: int = option(
        INTEGER, 30, help="Attempts of an Ironic request before giving up.")
    node_walk_period: int = option(
        INTEGER, 3600, min=0,
        help="Seconds over which the leader's clean-up rounds spread one walk of every Ironic "
             "node (pages of 1,000 UUIDs); the records of a node deleted from Ironic are "
             "forgotten within about this period plus clean_up_period. 0 lists every node "
             "at every clean-up round.")
    connection_idle_timeout: float = option(
        FLOAT, 4.0, min=0,
        help="Seconds an idle keep-alive connection to Ironic is kept for reuse (below the "
             "10 s after which Ironic's server closes it; 0 opens a connection per request).")
    auth_type: str | None = library(
        STRING, "password", owner=KEYSTONEAUTH, sets_default=True,
        help="Authentication plugin for Ironic requests ('none' for a standalone Ironic).")
    service_type: str | None = library(
        STRING, "baremetal", owner=KEYSTONEAUTH, sets_default=True,
        help="Service type of Ironic in the Keystone catalog.")
    valid_interfaces: list[str] | None = library(
        LIST, ["internal", "public"], owner=KEYSTONEAUTH, sets_default=True,
        help="Catalog endpoint interfaces tried, in order.")
    endpoint_override: str | None = library(
        STRING, owner=KEYSTONEAUTH, help="Ironic's URL, instead of the catalog's.")
    timeout: float | None = library(
        FLOAT, owner=KEYSTONEAUTH, help="Seconds an Ironic request may take.")


@section
class SwiftSection:
    """``[swift]``: the object storage of ``[processing]store_data = swift`` (keystoneauth's
    options, as upstream reads them, and where the objects go)."""

    container: str = option(
        STRING, "ironic-inspector",
        help="Swift container of the stored data (created, when missing, on each save).")
    delete_after: int = option(
        INTEGER, 0,
        help="Seconds Swift keeps a stored object (sent as X-Delete-After); 0 keeps it.")
    auth_type: str | None = library(
        STRING, "password", owner=KEYSTONEAUTH, sets_default=True,
        help="Authentication plugin for Swift requests ('none' with endpoint_override for a "
             "Swift without authentication).")
    service_type: str | None = library(
        STRING, "object-store", owner=KEYSTONEAUTH, sets_default=True,
        help="Service type of Swift in the Keystone catalog.")
    valid_interfaces: list[str] | None = library(
        LIST, ["internal", "public"], owner=KEYSTONEAUTH, sets_default=True,
        help="Catalog endpoint interfaces tried, in order.")
    endpoint_override: str | None = library(
        STRING, owner=KEYSTONEAUTH,
        help="Swift's account URL (http://host:8080/v1/AUTH_<project>), instead of the "
             "catalog's.")
    timeout: float | None = library(
        FLOAT, owner=KEYSTONEAUTH, help="Seconds a Swift request may take (default 60).")


@section
class KeystoneAuthtokenSection:
    """``[keystone_authtoken]``: token validation, with keystonemiddleware's names and defaults.

    The service's own credentials (``auth_type``, ``auth_url``, ``username``, ...) are
    keystoneauth's options in the same section.
    """

    www_authenticate_uri: str | None = optional(
        STRING, deprecated_name="auth_uri",
        help="Identity URL announced to unauthenticated callers in WWW-Authenticate "
             "(default: the auth_url of the service credentials).")
    auth_version: str | None = optional(
        STRING, help="keystonemiddleware's Identity API version; accepted, v3 is always used.")
    interface: str = option(
        STRING, "internal",
        help="Catalog interface of the Identity endpoint that validates tokens.")
    delay_auth_decision: bool = option(
        BOOLEAN, False,
        help="keystonemiddleware's deferred decision; accepted, each route's policy decides.")
    http_connect_timeout: int | None = optional(
        INTEGER, help="Seconds to connect to Keystone when validating a token.")
    http_request_max_retries: int = option(
        INTEGER, 3, help="Attempts of a token validation request to Keystone.")
    cache: str | None = optional(
        STRING, help="keystonemiddleware's swift cache; accepted and not used.")
    region_name: str | None = optional(
        STRING, help="Region of the Identity endpoint in the catalog.")
    memcached_servers: list[str] | None = optional(
        LIST, deprecated_name="memcache_servers",
        help="keystonemiddleware's token cache servers; accepted, tokens are cached in memory.")
    token_cache_time: int = option(
        INTEGER, 300,
        help="Seconds a validated token is remembered (never beyond its expiry).")
    include_service_catalog: bool = option(
        BOOLEAN, True,
        help="keystonemiddleware's catalog request; accepted and not used.")
    enforce_token_bind: str = option(
        STRING, "permissive",
        help="keystonemiddleware's token binding check; accepted and not used.")
    service_token_roles: list[str] = option(
        LIST, ["service"],
        help="keystonemiddleware's service token roles; accepted and not used.")
    service_token_roles_required: bool = option(
        BOOLEAN, True,
        help="keystonemiddleware's service token role check; accepted and not used.")
    service_type: str | None = optional(
        STRING, help="keystonemiddleware's service type of this API; accepted and not used.")
    token_cache_size: int = option(
        INTEGER, 10000, min=1, help="Most validated tokens remembered at once.")
    cafile: str | None = library(
        STRING, owner=KEYSTONEAUTH, help="CA bundle verifying Keystone's certificate.")
    certfile: str | None = library(
        STRING, owner=KEYSTONEAUTH, help="Client certificate presented to Keystone.")
    keyfile: str | None = library(STRING, owner=KEYSTONEAUTH, help="Key of certfile.")
    insecure: bool = library(
        BOOLEAN, owner=KEYSTONEAUTH, help="Skip the verification of Keystone's certificate.")


@section
class OsloPolicySection:
    """``[oslo_policy]``: oslo.policy's options (the API's access rules)."""

    policy_file: str = library(
        STRING, owner=OSLO_POLICY,
        help="Policy file overriding the API's rules (next to the configuration file when "
             "relative).")
    enforce_scope: bool = library(
        BOOLEAN, True, owner=OSLO_POLICY, fallback=True,
        help="Whether token scopes are checked against the rules' scope types; oslo.policy "
             "versions without this option always check them, and it is still accepted.")
    enforce_new_defaults: bool = library(
        BOOLEAN, owner=OSLO_POLICY,
        help="Use the rules' current defaults only; false also allows the pre-Wallaby ones.")
