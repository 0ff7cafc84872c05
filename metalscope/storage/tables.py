"""SQLAlchemy table definitions.

Table and column names are upstream ironic-inspector's (spec section 12), so an existing
database can be imported and operators' SQL habits keep working. ``nodes.version_id``,
unused upstream, holds a random token renewed on every state change: together with the
expected state it makes each transition a compare-and-set.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects import mysql

from metalscope.storage.blob_type import LongBinary

metadata = sa.MetaData()

NODE_STATES = ("starting", "waiting", "processing", "finished", "error", "reapplying",
               "enrolling", "aborting")

#: Microsecond precision on MySQL/MariaDB too (plain DATETIME would truncate).
Timestamp = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")
LongText = sa.Text().with_variant(mysql.LONGTEXT(), "mysql", "mariadb")

nodes = sa.Table(
    "nodes", metadata,
    sa.Column("uuid", sa.String(36), primary_key=True),
    sa.Column("version_id", sa.String(36), server_default=""),
    sa.Column("state", sa.Enum(*NODE_STATES, name="node_state"), nullable=False,
              default="finished"),
    sa.Column("started_at", Timestamp, nullable=True),
    sa.Column("finished_at", Timestamp, nullable=True),
    sa.Column("error", sa.Text, nullable=True),
    sa.Column("manage_boot", sa.Boolean, nullable=True, default=True),
    mysql_engine="InnoDB", mysql_charset="utf8mb4",
)

attributes = sa.Table(
    "attributes", metadata,
    sa.Column("uuid", sa.String(36), primary_key=True),
    sa.Column("node_uuid", sa.String(36),
              sa.ForeignKey("nodes.uuid", name="fk_node_attribute"), nullable=False),
    sa.Column("name", sa.String(255), nullable=False),
    sa.Column("value", sa.String(255), nullable=True),
    sa.Index("attributes_name_value_idx", "name", "value"),
    sa.Index("attributes_node_uuid_idx", "node_uuid"),
    mysql_engine="InnoDB", mysql_charset="utf8mb4",
)

options = sa.Table(
    "options", metadata,
    sa.Column("uuid", sa.String(36), sa.ForeignKey("nodes.uuid"), primary_key=True),
    sa.Column("name", sa.String(255), primary_key=True),
    sa.Column("value", sa.Text),
    mysql_engine="InnoDB", mysql_charset="utf8mb4",
)

rules = sa.Table(
    "rules", metadata,
    sa.Column("uuid", sa.String(36), primary_key=True),
    sa.Column("created_at", Timestamp, nullable=False),
    sa.Column("description", sa.Text),
    sa.Column("disabled", sa.Boolean, default=False),
    sa.Column("scope", sa.String(255), nullable=True),
    mysql_engine="InnoDB", mysql_charset="utf8mb4",
)

rule_conditions = sa.Table(
    "rule_conditions", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("rule", sa.String(36), sa.ForeignKey("rules.uuid")),
    sa.Column("op", sa.String(255), nullable=False),
    sa.Column("multiple", sa.String(255), nullable=False),
    sa.Column("invert", sa.Boolean, default=False),
    sa.Column("field", sa.Text),
    sa.Column("params", sa.Text),
    mysql_engine="InnoDB", mysql_charset="utf8mb4",
)

rule_actions = sa.Table(
    "rule_actions", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("rule", sa.String(36), sa.ForeignKey("rules.uuid")),
    sa.Column("action", sa.String(255), nullable=False),
    sa.Column("params", sa.Text),
    mysql_engine="InnoDB", mysql_charset="utf8mb4",
)

introspection_data = sa.Table(
    "introspection_data", metadata,
    sa.Column("uuid", sa.String(36), sa.ForeignKey("nodes.uuid"), primary_key=True),
    sa.Column("processed", sa.Boolean, primary_key=True, default=False),
    sa.Column("data", LongText, nullable=True),
    mysql_engine="InnoDB", mysql_charset="utf8mb4",
)

#: MetalScope's own: the digest of the ramdisk data an introspection is processed from, so
#: a retried ``/v1/continue`` is recognised by any instance (migration 0002).
ramdisk_callbacks = sa.Table(
    "ramdisk_callbacks", metadata,
    sa.Column("node_uuid", sa.String(36), sa.ForeignKey("nodes.uuid"), primary_key=True),
    sa.Column("digest", sa.String(64), nullable=False, index=True),
    sa.Column("received_at", Timestamp, nullable=False),
    mysql_engine="InnoDB", mysql_charset="utf8mb4",
)

#: MetalScope's own: one row per finished introspection of a node, its processed and
#: unprocessed data compressed (storage/history_codec.py); versions count from 1 per node.
#: No foreign key to ``nodes``: a version outlives the status record (migration 0004).
introspection_history = sa.Table(
    "introspection_history", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("uuid", sa.String(36), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("started_at", Timestamp, nullable=True),
    sa.Column("finished_at", Timestamp, nullable=False),
    sa.Column("recorded_at", Timestamp, nullable=False),
    sa.Column("source", sa.String(32), nullable=False),
    sa.Column("error", sa.Text, nullable=True),
    sa.Column("changed", sa.Boolean, nullable=True),
    sa.Column("summary", sa.Text, nullable=True),
    sa.Column("codec", sa.String(32), nullable=False),
    sa.Column("raw_bytes", sa.BigInteger, nullable=False),
    sa.Column("stored_bytes", sa.BigInteger, nullable=False),
    # An inventory can take megabytes: LONGBLOB on MySQL/MariaDB (BLOB holds 64 KiB).
    sa.Column("processed", LongBinary(), nullable=False),
    sa.Column("unprocessed", LongBinary(), nullable=True),
    # ``finished_at`` when ``[history]max_age`` applies to the version, NULL while it is the
    # newest version of a node with a status record (migration 0006): its index gives the
    # clean-up only the versions past max_age.
    sa.Column("age_from", Timestamp, nullable=True),
    # Also the index by node (its first column).
    sa.UniqueConstraint("uuid", "version", name="uq_introspection_history_version"),
    sa.Index("introspection_history_age_from_idx", "age_from"),
    mysql_engine="InnoDB", mysql_charset="utf8mb4",
)

#: MetalScope's own: the hardware summary of each node's latest processed introspection,
#: the fleet pages' data (storage/fleet.py). One row per node, replaced by each processing
#: and deleted with the node's record. No foreign key: a new introspection replaces the
#: status record, while the summary stays until that introspection is processed (migration
#: 0005). ``search_text`` is the lower-case text the fleet search matches.
hardware_summaries = sa.Table(
    "hardware_summaries", metadata,
    sa.Column("uuid", sa.String(36), primary_key=True),
    sa.Column("name", sa.String(255), nullable=True),
    sa.Column("vendor", sa.String(255), nullable=True),
    sa.Column("model", sa.String(255), nullable=True),
    sa.Column("serial", sa.String(255), nullable=True),
    sa.Column("cpu_model", sa.String(255), nullable=True),
    sa.Column("cpu_count", sa.Integer, nullable=True),
    sa.Column("cpu_arch", sa.String(64), nullable=True),
    sa.Column("memory_mib", sa.BigInteger, nullable=True),
    sa.Column("disk_count", sa.Integer, nullable=True),
    sa.Column("disk_bytes", sa.BigInteger, nullable=True),
    sa.Column("nic_count", sa.Integer, nullable=True),
    sa.Column("macs", sa.Text, nullable=True),
    sa.Column("boot_mode", sa.String(64), nullable=True),
    sa.Column("rules", sa.Text, nullable=True),
    sa.Column("search_text", LongText, nullable=True),
    sa.Column("inspected_at", Timestamp, nullable=False),
    *(sa.Index(f"hardware_summaries_{column}_idx", column, "uuid")
      for column in ("name", "vendor", "model", "cpu_count", "memory_mib", "disk_count",
                     "disk_bytes", "nic_count")),
    mysql_engine="InnoDB", mysql_charset="utf8mb4",
)
