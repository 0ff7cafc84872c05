"""The sample configuration file: every section and option, commented out and documented."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest

from metalscope.settings import SECTIONS, Settings, load_settings, render_sample_config
from metalscope.settings.option import declared
from metalscope.settings.sample import HIDDEN

OPTION_LINE = re.compile(r"^#(?P<name>[a-z][a-z0-9_]*) =(?: (?P<value>.*))?$")


def blocks(sample: str) -> list[list[str]]:
    """The sample's option blocks: comment lines ending with the commented-out option."""
    found = []
    for block in sample.split("\n\n"):
        lines = block.strip("\n").splitlines()
        if lines and OPTION_LINE.match(lines[-1]):
            found.append(lines)
    return found


def sections(sample: str) -> dict[str, set[str]]:
    """INI section → names of the options the sample lists in it."""
    found: dict[str, set[str]] = {}
    current = ""
    for line in sample.splitlines():
        if line.startswith("["):
            current = line.strip("[]")
            found[current] = set()
        elif match := OPTION_LINE.match(line):
            found[current].add(match["name"])
    return found


def uncommented(sample: str) -> str:
    """The sample with every option that has a real value set to it."""
    lines = []
    for line in sample.splitlines():
        match = OPTION_LINE.match(line)
        value = match["value"] if match else None
        if value and not (value.startswith("<") and value.endswith(">")):
            line = line[1:]
        lines.append(line)
    return "\n".join(lines) + "\n"


@pytest.fixture(scope="module")
def upstream_defaults(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    path = tmp_path_factory.mktemp("conf") / "empty.conf"
    path.write_text("[DEFAULT]\n")
    return load_settings([str(path)])


def same(settings: Settings, other: Settings) -> bool:
    return dataclasses.replace(settings, config_files=()) == dataclasses.replace(
        other, config_files=())


def test_every_section_and_declared_option_appears() -> None:
    listed = sections(render_sample_config(None))
    assert set(listed) == {ini_section for ini_section, _ in SECTIONS.values()}
    for ini_section, kind in SECTIONS.values():
        assert {item.name for item in declared(kind)} <= listed[ini_section]


def test_library_options_appear_under_their_library() -> None:
    sample = render_sample_config(None)
    listed = sections(sample)
    assert {"auth_type", "endpoint_override", "cafile", "valid_interfaces"} <= listed["ironic"]
    assert {"auth_type", "cafile", "insecure"} <= listed["keystone_authtoken"]
    assert {"policy_file", "enforce_new_defaults", "policy_dirs"} <= listed["oslo_policy"]
    assert "# From keystoneauth1" in sample and "# From oslo.policy" in sample


def test_every_option_has_help_and_type() -> None:
    for block in blocks(render_sample_config(None)):
        help_text = " ".join(line[2:] for line in block if line.startswith("# "))
        assert re.search(r"\w.*\(([a-z ]+ value|multi valued)\)", help_text), block


def test_help_is_wrapped() -> None:
    assert max(len(line) for line in render_sample_config(None).splitlines()
               if line.startswith("# ")) <= 72


def test_type_limits_choices_and_deprecated_names() -> None:
    sample = render_sample_config(None)
    port = next(block for block in blocks(sample) if block[-1] == "#listen_port = 5050")
    assert "# Minimum value: 0. Maximum value: 65535" in port
    strategy = next(block for block in blocks(sample) if block[-1].startswith("#auth_strategy"))
    assert "# Allowed values: noauth, keystone, http_basic" in strategy
    log_file = next(block for block in blocks(sample) if block[-1].startswith("#log_file ="))
    assert "# Deprecated group/name - [DEFAULT]/logfile" in log_file
    assert log_file[-1] == "#log_file = <None>"


def test_values_spelled_as_in_a_file() -> None:
    sample = render_sample_config(None)
    assert "#host = <this machine's FQDN>" in sample
    assert "#use_ssl = false" in sample
    assert "#instance_uuid_format = \"[instance: %(uuid)s] \"" in sample
    assert "#cpu_flags = aes:cpu_aes,pdpe1gb:cpu_hugepages_1g," in sample
    assert "#ethoib_interfaces =\n" in sample


def test_uncommented_sample_loads_the_defaults(upstream_defaults: Settings,
                                               tmp_path: Path) -> None:
    """Every option set to the value the sample shows gives the settings of an empty file."""
    path = tmp_path / "sample.conf"
    path.write_text(uncommented(render_sample_config(None)))
    loaded = load_settings([str(path)])
    host = dataclasses.replace(loaded.default, host=upstream_defaults.default.host)
    assert same(loaded.replace(default=host), upstream_defaults)


def test_sample_of_settings_shows_their_values(tmp_path: Path) -> None:
    path = tmp_path / "inspector.conf"
    path.write_text("[DEFAULT]\nhost = inspector-1\nlisten_port = 5051\n"
                    "[pci_devices]\nalias = {\"name\": \"a\"}\nalias = {\"name\": \"b\"}\n"
                    "[ironic]\nendpoint_override = http://ironic:6385\n")
    settings = load_settings([str(path)])
    sample = render_sample_config(settings)
    assert "#host = inspector-1" in sample and "#listen_port = 5051" in sample
    assert '#alias = {"name": "a"}\n#alias = {"name": "b"}' in sample
    assert "#endpoint_override = http://ironic:6385" in sample
    again = tmp_path / "again.conf"
    again.write_text(uncommented(sample))
    assert same(load_settings([str(again)]), settings)


def test_secrets_are_hidden(tmp_path: Path) -> None:
    path = tmp_path / "inspector.conf"
    path.write_text("[database]\nconnection = mysql+pymysql://inspector:s3cret@db/inspector\n")
    sample = render_sample_config(load_settings([str(path)]))
    assert "s3cret" not in sample and f"#connection = {HIDDEN}" in sample
    assert "#connection = sqlite:///ironic_inspector.sqlite" in render_sample_config(None)
