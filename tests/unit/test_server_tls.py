"""[ssl] options for ``use_ssl``: uvicorn's TLS settings, and what refuses start-up."""

from __future__ import annotations

import ssl
from pathlib import Path

import pytest
from click.testing import CliRunner

from metalscope.cli import main
from metalscope.errors import ConfigurationError
from metalscope.server import tls_options
from metalscope.settings import SslSection
from metalscope.testing.certificates import CertificateFiles, TestAuthority, self_signed


def section(**values: object) -> SslSection:
    fields = {"cert_file": None, "key_file": None, "ca_file": None, "version": None,
              "ciphers": None, **values}
    return SslSection(**fields)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> CertificateFiles:
    return self_signed(tmp_path_factory.mktemp("tls"))


def test_certificate_and_key(pair: CertificateFiles) -> None:
    options = tls_options(section(cert_file=str(pair.cert_file), key_file=str(pair.key_file)))
    assert options == {"ssl_certfile": str(pair.cert_file), "ssl_keyfile": str(pair.key_file)}


def test_ca_file_requires_client_certificates(tmp_path: Path) -> None:
    """As upstream's server: a CA file means clients must present a certificate it signed."""
    authority = TestAuthority(tmp_path)
    server = authority.issue("server", "localhost", dns=("localhost",))
    options = tls_options(section(cert_file=str(server.cert_file), key_file=str(server.key_file),
                                  ca_file=str(authority.cert_file), ciphers="ECDHE+AESGCM"))
    assert options["ssl_ca_certs"] == str(authority.cert_file)
    assert options["ssl_cert_reqs"] == ssl.CERT_REQUIRED
    assert options["ssl_ciphers"] == "ECDHE+AESGCM"


@pytest.mark.parametrize("values,message", [
    ({}, "you must specify both a [ssl]cert_file and [ssl]key_file"),
    ({"cert_file": "CERT"}, "you must specify both"),
    ({"cert_file": "/nonexistent/cert.pem", "key_file": "KEY"},
     "Unable to find cert_file : /nonexistent/cert.pem"),
    ({"cert_file": "CERT", "key_file": "KEY", "ca_file": "/nonexistent/ca.pem"},
     "Unable to find ca_file : /nonexistent/ca.pem"),
    ({"cert_file": "KEY", "key_file": "CERT"}, "Invalid [ssl] files or ciphers"),
    ({"cert_file": "CERT", "key_file": "KEY", "ciphers": "NO-SUCH-CIPHER"},
     "Invalid [ssl] files or ciphers"),
])
def test_refused(pair: CertificateFiles, values: dict[str, str], message: str) -> None:
    names = {"CERT": str(pair.cert_file), "KEY": str(pair.key_file)}
    resolved = {key: names.get(value, value) for key, value in values.items()}
    with pytest.raises(ConfigurationError) as error:
        tls_options(section(**resolved))
    assert message in str(error.value)


def test_serve_refuses_before_listening(tmp_path: Path) -> None:
    """metalscope serve with use_ssl and no certificate exits 1 with the message."""
    conf = tmp_path / "inspector.conf"
    conf.write_text(f"[DEFAULT]\nauth_strategy = noauth\nlisten_port = 1\nuse_ssl = true\n"
                    f"[database]\nconnection = sqlite:///{tmp_path / 'db.sqlite'}\n"
                    f"[pxe_filter]\ndriver = noop\n[ironic]\nauth_type = none\n"
                    f"endpoint_override = http://127.0.0.1:9\n")
    CliRunner().invoke(main, ["db", "upgrade", "--config-file", str(conf)])
    result = CliRunner().invoke(main, ["serve", "--config-file", str(conf)])
    assert result.exit_code == 1 and "[ssl]cert_file and [ssl]key_file" in result.output
