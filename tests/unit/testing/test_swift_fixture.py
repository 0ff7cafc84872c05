"""LocalSwift's configuration files (the servers themselves run in the integration tier)."""

from __future__ import annotations

import configparser
from pathlib import Path

from metalscope.testing.swift import LocalSwift, check_user_xattrs


def parsed(text: str) -> configparser.RawConfigParser:
    parser = configparser.RawConfigParser()
    parser.read_string(text)
    return parser


def test_backends_listen_on_loopback_without_workers(tmp_path: Path) -> None:
    swift = LocalSwift(tmp_path, tmp_path / "bin")
    conf = parsed(swift._backend_config("object"))
    assert conf["DEFAULT"]["bind_ip"] == "127.0.0.1"
    assert conf["DEFAULT"]["bind_port"] == str(swift.ports["object"])
    assert conf["DEFAULT"]["workers"] == "0" and conf["DEFAULT"]["mount_check"] == "False"
    assert conf["DEFAULT"]["devices"] == str(tmp_path.absolute() / "devices")
    assert conf["app:object-server"]["use"] == "egg:swift#object"
    assert len(set(swift.ports.values())) == 4


def test_proxy_pipelines(tmp_path: Path) -> None:
    swift = LocalSwift(tmp_path, tmp_path / "bin")
    plain = parsed(swift._proxy_config(1, "proxy", [], {}))
    assert plain["pipeline:main"]["pipeline"] == "catch_errors proxy-logging proxy-server"
    assert plain["app:proxy-server"]["account_autocreate"] == "True"
    keystone = parsed(swift._proxy_config(2, "proxy-keystone", ["authtoken", "keystoneauth"],
                                          {"keystoneauth": {"use": "egg:swift#keystoneauth"}}))
    assert keystone["pipeline:main"]["pipeline"] == (
        "catch_errors proxy-logging authtoken keystoneauth proxy-server")
    assert keystone["filter:keystoneauth"]["use"] == "egg:swift#keystoneauth"
    assert swift.options("acct") == {"auth_type": "none",
                                     "endpoint_override": f"{swift.url}/v1/AUTH_acct"}


def test_user_xattrs_are_checked(tmp_path: Path) -> None:
    check_user_xattrs(tmp_path)  # the test machines' temporary folders take them
    assert list(tmp_path.iterdir()) == []
