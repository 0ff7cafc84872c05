"""What several steps of the ironic-inspector lineage share."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import mysql

#: Tables created by upstream's migrations are InnoDB with a 3-byte utf8 default; MetalScope's
#: own migration 0003 later moves them to utf8mb4.
MYSQL_TABLE: dict[str, Any] = {"mysql_engine": "InnoDB", "mysql_charset": "utf8"}

#: Upstream keeps JSON documents as TEXT, LONGTEXT for introspection data on MySQL.
JSON_TEXT = sa.Text()
LONG_JSON_TEXT = sa.Text().with_variant(mysql.LONGTEXT(), "mysql", "mariadb")
