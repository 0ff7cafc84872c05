"""Reading upstream configuration files into Settings."""

from __future__ import annotations

from pathlib import Path

import pytest

from metalscope.settings import load_settings

UPSTREAM_SANDBOX = """\
[DEFAULT]
host = local-inspector
listen_address = 127.0.0.1
listen_port = 5050
auth_strategy = noauth
standalone = true
transport_url = fake://
use_stderr = false
log_file = /tmp/inspector.log
debug = false
can_manage_boot = true
node_status_keep_time = 604800

[database]
connection = sqlite:////tmp/inspector.db

[ironic]
auth_type = none
endpoint_override = http://127.0.0.1:6385

[pxe_filter]
driver = noop

[processing]
store_data = database
processing_hooks = $default_processing_hooks,lldp_basic,local_link_connection
ramdisk_logs_dir = /tmp/ramdisk-logs

[capabilities]
boot_mode = true
cpu_flags = vmx:cpu_vt,aes:cpu_aes

[pci_devices]
alias = {"vendor_id": "8086", "product_id": "1572", "name": "x710"}
alias = {"vendor_id": "10de", "product_id": "1eb8", "name": "t4"}

[oslo_concurrency]
lock_path = /tmp/lock

[keystone_authtoken]
www_authenticate_uri = http://keystone.example.org/identity
"""


class TestUpstreamFile:
    def test_loads_unchanged(self, tmp_path: Path) -> None:
        """An ironic-inspector file loads, unknown sections and options included."""
        path = tmp_path / "inspector.conf"
        path.write_text(UPSTREAM_SANDBOX)
        settings = load_settings([str(path)])
        assert not settings.embedded
        assert settings.default.listen_address == "127.0.0.1"
        assert settings.default.listen_port == 5050
        assert settings.processing.hook_names[-2:] == ["lldp_basic", "local_link_connection"]
        assert settings.processing.hook_names[0] == "ramdisk_error"
        assert settings.capabilities.cpu_flags == {"vmx": "cpu_vt", "aes": "cpu_aes"}
        assert len(settings.pci_devices.alias) == 2
        assert settings.ironic.endpoint_override == "http://127.0.0.1:6385"

    def test_upstream_defaults(self, tmp_path: Path) -> None:
        """With a file, defaults are upstream's, not the embedded ones."""
        path = tmp_path / "empty.conf"
        path.write_text("[DEFAULT]\n")
        settings = load_settings([str(path)])
        assert settings.default.auth_strategy == "keystone"
        assert settings.pxe_filter.driver == "iptables"
        assert settings.processing.store_data == "none"
        assert settings.database.connection == "sqlite:///ironic_inspector.sqlite"
        assert settings.default.timeout == 3600 and settings.default.api_max_limit == 1000
        assert settings.ironic.auth_type == "password"

    def test_config_dir(self, tmp_path: Path) -> None:
        """--config-dir files are read too."""
        (tmp_path / "conf.d").mkdir()
        (tmp_path / "conf.d" / "10-timeout.conf").write_text("[DEFAULT]\ntimeout = 42\n")
        assert load_settings(config_dirs=[str(tmp_path / "conf.d")]).default.timeout == 42

    def test_bad_value_rejected(self, tmp_path: Path) -> None:
        """A value outside the option's choices is an error at load time."""
        path = tmp_path / "bad.conf"
        path.write_text("[processing]\nadd_ports = sometimes\n")
        with pytest.raises(Exception, match="add_ports"):
            load_settings([str(path)])

    def test_missing_file(self) -> None:
        """A missing file is reported by name."""
        with pytest.raises(FileNotFoundError, match=r"/nope\.conf"):
            load_settings(["/nope.conf"])


class TestEmbedded:
    def test_embedded_defaults(self) -> None:
        """No file: SQLite in the data folder, noauth, noop filter, local Ironic."""
        settings = load_settings()
        assert settings.embedded and settings.default.auth_strategy == "noauth"
        assert settings.database.connection.startswith("sqlite:///")
        assert settings.database.connection.endswith("metalscope-data/metalscope.sqlite")
        assert settings.pxe_filter.driver == "noop" and settings.processing.store_data == "database"
        assert settings.ironic.endpoint_override == "http://127.0.0.1:6385"
        assert settings.default.listen_address == "0.0.0.0" and settings.default.listen_port == 5050
