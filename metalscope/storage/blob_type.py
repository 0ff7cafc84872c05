"""A large binary column that MySQL/MariaDB's async driver can write.

aiomysql 0.3 escapes ``bytes`` parameters with a PyMySQL function that PyMySQL 1.2 no
longer has (the name is left bound to a string), so any ``bytes`` value fails there. On
MySQL/MariaDB the value is therefore sent as hexadecimal text and turned back into bytes by
the server (``UNHEX``); elsewhere it is bound as it is. The column is LONGBLOB there.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import mysql
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

_MYSQL = ("mysql", "mariadb")


class _BinaryParameter(FunctionElement[bytes]):
    """A bound binary value: ``UNHEX(:value)`` on MySQL/MariaDB, ``:value`` elsewhere."""

    inherit_cache = True
    name = "binary_parameter"


@compiles(_BinaryParameter)
def _plain(element: _BinaryParameter, compiler: SQLCompiler, **kw: Any) -> str:
    return compiler.process(element.clauses, **kw)


@compiles(_BinaryParameter, "mysql")
@compiles(_BinaryParameter, "mariadb")
def _unhex(element: _BinaryParameter, compiler: SQLCompiler, **kw: Any) -> str:
    return f"UNHEX({compiler.process(element.clauses, **kw)})"


class LongBinary(sa.types.TypeDecorator[bytes]):
    """Bytes of any size (LONGBLOB on MySQL/MariaDB)."""

    impl = sa.LargeBinary
    cache_ok = True

    def load_dialect_impl(self, dialect: sa.Dialect) -> sa.types.TypeEngine[Any]:
        if dialect.name in _MYSQL:
            return dialect.type_descriptor(mysql.LONGBLOB())
        return dialect.type_descriptor(sa.LargeBinary())

    def bind_expression(self, bindvalue: Any) -> Any:
        return _BinaryParameter(bindvalue)

    def bind_processor(self, dialect: sa.Dialect) -> Any:
        if dialect.name in _MYSQL:
            return _hex
        return super().bind_processor(dialect)


def _hex(value: bytes | None) -> str | None:
    return None if value is None else value.hex()
