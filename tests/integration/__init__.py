import pytest

# The adoption checks shared by the SQLite and the server-database tests report like tests.
pytest.register_assert_rewrite("tests.integration.upstream_databases")
