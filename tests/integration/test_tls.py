"""``[DEFAULT]use_ssl = True``: ``metalscope serve`` over HTTPS with certificates made here.

Two services: one with a self-signed certificate (``[ssl]cert_file``/``key_file``), called by
httpx and by the real python-ironic-inspector-client verifying against that certificate; one
with ``[ssl]ca_file`` as well, which then requires client certificates issued by that CA, as
upstream's server does.
"""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import ironic_inspector_client
import pytest
from keystoneauth1 import noauth
from keystoneauth1 import session as ks_session

from metalscope.api.versions import MAX_VERSION
from metalscope.testing.certificates import CertificateFiles, TestAuthority, self_signed
from metalscope.testing.ironic import LocalIronic
from metalscope.testing.service import LocalMetalScope

pytestmark = pytest.mark.integration


class HttpsMetalScope(LocalMetalScope):
    """LocalMetalScope served over TLS at https://localhost:<port>."""

    def __init__(self, workdir: Path, ironic_url: str, ssl_options: dict[str, Any],
                 verify: Any) -> None:
        super().__init__(workdir, ironic_url, options={"DEFAULT": {"use_ssl": True},
                                                       "ssl": ssl_options})
        self.url = f"https://localhost:{self.port}"
        self.verify = verify


@pytest.fixture(scope="module")
def certificates(tmp_path_factory: pytest.TempPathFactory) -> CertificateFiles:
    return self_signed(tmp_path_factory.mktemp("tls"))


@pytest.fixture(scope="module")
def https_service(certificates: CertificateFiles, ironic: LocalIronic,
                  tmp_path_factory: pytest.TempPathFactory) -> Iterator[HttpsMetalScope]:
    ssl_options = {"cert_file": certificates.cert_file, "key_file": certificates.key_file}
    verify = ssl.create_default_context(cafile=str(certificates.cert_file))
    with HttpsMetalScope(tmp_path_factory.mktemp("metalscope-tls"), ironic.url, ssl_options,
                         verify) as service:
        yield service


class TestServerCertificate:
    def test_httpx_verifies_the_certificate(self, https_service: HttpsMetalScope,
                                            certificates: CertificateFiles) -> None:
        verify = ssl.create_default_context(cafile=str(certificates.cert_file))
        with httpx.Client(base_url=https_service.url, verify=verify, timeout=30) as client:
            root = client.get("/")
            assert root.status_code == 200
            assert root.json()["versions"][0]["links"][0]["href"] == f"{https_service.url}/v1"
            assert client.get("/v1/introspection").status_code == 200

    def test_untrusted_certificate_is_refused(self, https_service: HttpsMetalScope) -> None:
        """Without the certificate in its trust store, a client refuses the server."""
        with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
            httpx.get(https_service.url + "/", timeout=10)

    def test_plain_http_is_not_served(self, https_service: HttpsMetalScope) -> None:
        plain = https_service.url.replace("https://", "http://")
        with pytest.raises(httpx.HTTPError):
            httpx.get(plain + "/", timeout=10).raise_for_status()

    def test_inspector_client(self, https_service: HttpsMetalScope, certificates: CertificateFiles,
                              make_node: Any) -> None:
        """The real client, its keystoneauth session verifying against the certificate."""
        session = ks_session.Session(auth=noauth.NoAuth(), verify=str(certificates.cert_file))
        client = ironic_inspector_client.ClientV1(inspector_url=https_service.url,
                                                  session=session, api_version=(1, 18))
        assert client.server_api_versions() == ((1, 0), MAX_VERSION)
        node = make_node()
        client.introspect(node["uuid"], manage_boot=False)
        assert client.get_status(node["uuid"])["state"] in ("starting", "waiting")
        client.abort(node["uuid"])
        assert client.rules.get_all() == []


class TestClientCertificates:
    @pytest.fixture(scope="class")
    def authority(self, tmp_path_factory: pytest.TempPathFactory) -> TestAuthority:
        return TestAuthority(tmp_path_factory.mktemp("ca"))

    @pytest.fixture(scope="class")
    def mutual(self, authority: TestAuthority, ironic: LocalIronic,
               tmp_path_factory: pytest.TempPathFactory,
               ) -> Iterator[tuple[HttpsMetalScope, CertificateFiles]]:
        server = authority.issue("server", "localhost", dns=("localhost",), ips=("127.0.0.1",))
        client = authority.issue("client", "operator", client=True)
        verify = ssl.create_default_context(cafile=str(authority.cert_file))
        verify.load_cert_chain(client.cert_file, client.key_file)
        ssl_options = {"cert_file": server.cert_file, "key_file": server.key_file,
                       "ca_file": authority.cert_file}
        with HttpsMetalScope(tmp_path_factory.mktemp("metalscope-mtls"), ironic.url, ssl_options,
                             verify) as service:
            yield service, client

    def test_client_certificate_required(self, mutual: tuple[HttpsMetalScope, CertificateFiles],
                                         authority: TestAuthority) -> None:
        service, client = mutual
        anonymous = ssl.create_default_context(cafile=str(authority.cert_file))
        with pytest.raises(httpx.HTTPError):
            httpx.get(service.url + "/", verify=anonymous, timeout=10)
        known = ssl.create_default_context(cafile=str(authority.cert_file))
        known.load_cert_chain(client.cert_file, client.key_file)
        assert httpx.get(service.url + "/v1", verify=known, timeout=10).status_code == 200
