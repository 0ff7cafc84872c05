"""oslo.log's options, read from ``[DEFAULT]`` with oslo.log's names, deprecated names and
defaults (MetalScope's own libraries are added to ``default_log_levels``)."""

from __future__ import annotations

from metalscope.settings.option import BOOLEAN, INTEGER, LIST, STRING, option, optional, section

#: oslo.log's defaults for ``default_log_levels``, plus MetalScope's own libraries.
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
                  "[%(global_request_id)s %(request_id)s %(user_identity)s] "
                  "%(instance)s%(message)s")
DEFAULT_FORMAT = ("%(asctime)s.%(msecs)03d %(process)d %(levelname)s %(name)s [-] "
                  "%(instance)s%(message)s")
ROTATE_INTERVAL_TYPES = ["Seconds", "Minutes", "Hours", "Days", "Weekday", "Midnight"]


@section
class LoggingSection:
    """oslo.log's options, read from ``[DEFAULT]``."""

    debug: bool = option(BOOLEAN, False, mutable=True,
                         help="Log at DEBUG level instead of INFO.")
    log_config_append: str | None = optional(
        STRING, deprecated_name="log-config", mutable=True,
        help="A Python logging configuration file (fileConfig format); when set, the other "
             "logging options except debug are ignored.")
    log_date_format: str = option(STRING, "%Y-%m-%d %H:%M:%S",
                                  help="strftime format of %(asctime)s in log records.")
    log_file: str | None = optional(
        STRING, deprecated_name="logfile",
        help="File to log to (inside log_dir when both are set); with neither, records go "
             "to standard output unless use_stderr or use_journal is set.")
    log_dir: str | None = optional(
        STRING, deprecated_name="logdir",
        help="Folder of log_file; set alone, records go to <log_dir>/<program>.log.")
    watch_log_file: bool = option(
        BOOLEAN, False,
        help="Reopen log_file when another program moves or deletes it.")
    use_syslog: bool = option(BOOLEAN, False, help="Send log records to syslog.")
    use_journal: bool = option(BOOLEAN, False,
                               help="Send log records to the systemd journal.")
    syslog_log_facility: str = option(STRING, "LOG_USER",
                                      help="Syslog facility of the records sent to syslog.")
    use_json: bool = option(BOOLEAN, False, help="Write log records as JSON objects.")
    use_stderr: bool = option(BOOLEAN, False,
                              help="Write log records to standard error.")
    log_color: bool = option(
        BOOLEAN, False,
        help="Color standard error records by level (when use_stderr is set).")
    use_eventlog: bool = option(
        BOOLEAN, False,
        help="Log to the Windows event log; accepted for compatibility and not used.")
    log_rotate_interval: int = option(
        INTEGER, 1,
        help="Number of log_rotate_interval_type units between two rotations of log_file "
             "(log_rotation_type = interval).")
    log_rotate_interval_type: str = option(
        STRING, "days", ignore_case=True, choices=ROTATE_INTERVAL_TYPES,
        help="Unit of log_rotate_interval.")
    max_logfile_count: int = option(INTEGER, 30,
                                    help="Rotated log files kept.")
    max_logfile_size_mb: int = option(
        INTEGER, 200,
        help="Size in MiB at which log_file is rotated (log_rotation_type = size).")
    log_rotation_type: str = option(
        STRING, "none", ignore_case=True, choices=["interval", "size", "none"],
        help="When log_file is rotated: on a time interval, on a size, or never.")
    logging_context_format_string: str = option(
        STRING, CONTEXT_FORMAT,
        help="Format of records logged while handling a request.")
    logging_default_format_string: str = option(
        STRING, DEFAULT_FORMAT,
        help="Format of records logged outside of a request.")
    logging_debug_format_suffix: str = option(
        STRING, "%(funcName)s %(pathname)s:%(lineno)d",
        help="Appended to DEBUG records' format.")
    logging_exception_prefix: str = option(
        STRING, "%(asctime)s.%(msecs)03d %(process)d ERROR %(name)s %(instance)s",
        help="Prefix of each traceback line of a logged exception.")
    logging_user_identity_format: str = option(
        STRING, "%(user)s %(project)s %(domain)s %(system_scope)s %(user_domain)s "
                        "%(project_domain)s",
        help="Format of %(user_identity)s in logging_context_format_string.")
    default_log_levels: list[str] = option(
        LIST, DEFAULT_LOG_LEVELS, mutable=True,
        help="logger=LEVEL pairs setting the level of library loggers (applied again on "
             "SIGHUP).")
    publish_errors: bool = option(
        BOOLEAN, False,
        help="Publish errors as notifications; accepted for compatibility and not used.")
    instance_format: str = option(
        STRING, "[instance: %(uuid)s] ",
        help="oslo.log's format of an instance named in a record; accepted, not used "
             "(records name nodes through instance_uuid_format).")
    instance_uuid_format: str = option(
        STRING, "[instance: %(uuid)s] ",
        help="Format of %(instance)s when a record is about a node (%(uuid)s is its UUID).")
    rate_limit_interval: int = option(
        INTEGER, 0,
        help="Seconds of a log rate limiting window; 0 disables rate limiting.")
    rate_limit_burst: int = option(
        INTEGER, 0, help="Records allowed per rate_limit_interval; 0 disables it.")
    rate_limit_except_level: str = option(
        STRING, "CRITICAL", choices=["CRITICAL", "ERROR", "INFO", "WARNING", "DEBUG", ""],
        help="Records at this level or above are never rate limited (empty: none exempt).")
    fatal_deprecations: bool = option(
        BOOLEAN, False,
        help="oslo.log's switch making deprecations fatal; accepted, MetalScope has no "
             "deprecated features to report.")
