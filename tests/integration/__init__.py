import pytest

# The adoption and handover checks shared by the SQLite and the server-database tests
# report like tests.
pytest.register_assert_rewrite("tests.integration.upstream_databases",
                               "tests.integration.handover")
