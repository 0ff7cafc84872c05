"""TLS settings of a keystoneauth session, as httpx wants them."""

from __future__ import annotations

import ssl

from keystoneauth1 import session as ks_session


def httpx_verify(session: ks_session.Session) -> ssl.SSLContext | bool:
    """httpx ``verify`` from the keystoneauth session: ``cafile``, ``insecure``, ``certfile``."""
    verify, cert = session.verify, session.cert
    if not cert and not isinstance(verify, str):
        return bool(verify)
    context = ssl.create_default_context(cafile=verify if isinstance(verify, str) else None)
    if verify is False:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    if cert:
        certfile, keyfile = (cert, None) if isinstance(cert, str) else cert
        context.load_cert_chain(certfile, keyfile)
    return context
