"""The health check and CORS layers answer as the real oslo.middleware does.

The same requests go through oslo.middleware's ``Healthcheck`` and ``CORS`` (WSGI, in the
upstream virtual environment, configured with the same options) and through MetalScope's
middlewares (ASGI, in process); status, headers and bodies must be equal. Detailed health
pages are left out: they show the time and the threads of each process; so are other
paths than ``/healthcheck``: the oslo.middleware installed upstream has no ``path`` option
any more and answers every path, while ``[healthcheck]path`` is honoured here.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from metalscope.api.middleware.cors import CORSMiddleware, CorsPolicy
from metalscope.api.middleware.healthcheck import HealthcheckConfig, HealthcheckMiddleware
from metalscope.settings import load_settings
from tests.unit.api.middleware.asgi import Inner, call, http_scope

pytestmark = pytest.mark.compat

#: Runs the cases through oslo.middleware; each gets a fresh ConfigOpts, as a service has.
UPSTREAM = r'''
import json, sys
from oslo_config import cfg
from oslo_middleware import cors
from oslo_middleware.healthcheck import Healthcheck, opts
import webob

def inner(status, headers):
    def app(environ, start_response):
        start_response(status, [tuple(h) for h in headers])
        return [b"inner"]
    return app

def configured(group, registered, options):
    conf = cfg.ConfigOpts()
    conf([], project="parity", default_config_files=[])
    for opt_list in registered:
        conf.register_opts(opt_list, group=group)
    for key, value in options.items():
        conf.set_override(key, value, group=group)
    return conf

answers = []
for case in json.load(open(sys.argv[1])):
    app = inner(case["inner_status"], case["inner_headers"])
    if case["kind"] == "healthcheck":
        conf = configured("healthcheck", [opts.HEALTHCHECK_OPTS, opts.DISABLE_BY_FILE_OPTS,
                                          opts.DISABLE_BY_FILES_OPTS, opts.ENABLE_BY_FILES_OPTS],
                          case["options"])
        app = Healthcheck(app, conf)
    else:
        app = cors.CORS(app, configured("cors", [cors.OPTS], case["options"]))
    environ = {"REMOTE_ADDR": case["client"]} if case["client"] else {}
    request = webob.Request.blank(case["path"], method=case["method"], headers=case["headers"],
                                  environ=environ)
    request.environ.pop("REMOTE_ADDR", None) if not case["client"] else None
    request.environ["SERVER_PORT"] = str(case["port"])
    response = request.get_response(app)
    answers.append({"status": response.status_code,
                    "headers": sorted([k.lower(), v] for k, v in response.headerlist),
                    "body": response.body.decode()})
print(json.dumps(answers))
'''


def health_cases(tmp_path: Path) -> list[dict[str, Any]]:
    present, absent = tmp_path / "present", tmp_path / "absent"
    present.touch()
    backends: list[dict[str, Any]] = [
        {},
        {"backends": ["disable_by_file"], "disable_by_file_path": str(present)},
        {"backends": ["disable_by_file"], "disable_by_file_path": str(absent)},
        {"backends": ["disable_by_file"]},
        {"backends": ["disable_by_files_ports", "enable_by_files"],
         "disable_by_file_paths": [f"80:{absent}", f"81:{present}"],
         "enable_by_file_paths": [str(present), str(absent)]},
        {"backends": ["disable_by_files_ports"], "disable_by_file_paths": [f"80:{present}"]},
        {"backends": ["enable_by_files", "no_such_backend"],
         "enable_by_file_paths": [str(present)]},
    ]
    requests = [("GET", {}), ("HEAD", {}), ("POST", {}),
                ("GET", {"Accept": "application/json"}), ("GET", {"Accept": "text/html"}),
                ("GET", {"Accept": "application/json, text/html"}),
                ("GET", {"Accept": "text/html;q=0.5, application/json"}),
                ("GET", {"Accept": "image/png"}), ("GET", {"Accept": "*/*"})]
    cases = [{"options": options, "method": method, "headers": headers, "port": port}
             for options in backends for method, headers in requests for port in (80, 81)]
    fenced = {"allowed_source_ranges": ["10.0.0.0/8", "2001:db8::/32"],
              "ignore_proxied_requests": True}
    cases += [{"options": fenced, "method": "GET", "headers": headers, "client": client}
              for client in ("10.9.8.7", "192.0.2.1", "2001:db8::5", None)
              for headers in ({}, {"X-Forwarded-For": "10.0.0.1"}, {"X-Forwarded-Port": "1"},
                              {"X-Forwarded": "x"}, {"X-Forwarded-Proto": ""})]
    return [{"kind": "healthcheck", "path": "/healthcheck", "client": "127.0.0.1", "port": 80,
             "inner_status": "200 OK", "inner_headers": [["Content-Type", "text/plain"]], **case}
            for case in cases]


DASHBOARD = "https://dashboard.example.org"
CORS_OPTIONS: list[dict[str, Any]] = [
    {"allowed_origin": [DASHBOARD], "allow_credentials": True, "expose_headers": ["X-A", "X-B"],
     "max_age": 3600, "allow_methods": ["GET", "POST", "PUT", "HEAD", "PATCH", "DELETE", "OPTIONS"],
     "allow_headers": ["X-Auth-Token", "X-OpenStack-Ironic-Inspector-API-Version"]},
    {"allowed_origin": ["*"], "allow_credentials": False, "expose_headers": [], "max_age": 0,
     "allow_methods": ["GET"], "allow_headers": []},
    {"allowed_origin": ["*", DASHBOARD], "allow_credentials": True, "expose_headers": [],
     "max_age": 10, "allow_methods": ["GET"], "allow_headers": ["X-Auth-Token"]},
]


def cors_cases() -> list[dict[str, Any]]:
    preflight = {"Origin": DASHBOARD, "Access-Control-Request-Method": "GET",
                 "Access-Control-Request-Headers": "x-auth-token, content-type"}
    requests: list[tuple[str, dict[str, str]]] = [
        ("OPTIONS", preflight), ("OPTIONS", {**preflight, "Origin": "https://other.example"}),
        ("OPTIONS", {**preflight, "Access-Control-Request-Method": "TRACE"}),
        ("OPTIONS", {**preflight, "Access-Control-Request-Headers": "X-Secret"}),
        ("OPTIONS", {**preflight, "Access-Control-Request-Headers": ""}),
        ("OPTIONS", {"Origin": DASHBOARD}), ("OPTIONS", {}),
        ("GET", {"Origin": DASHBOARD}), ("GET", {"Origin": "https://other.example"}), ("GET", {}),
        ("POST", {"Origin": DASHBOARD.upper()}),
    ]
    inner = [("200 OK", [["Content-Type", "application/json"]]),
             ("404 Not Found", [["Content-Type", "application/json"], ["Vary", "Accept"]]),
             ("405 Method Not Allowed", [["Allow", "GET"]]),
             ("204 No Content", [["Access-Control-Allow-Origin", "https://set.example"]])]
    return [{"kind": "cors", "options": options, "method": method, "headers": headers,
             "inner_status": status, "inner_headers": headers_, "path": "/v1/introspection",
             "client": "127.0.0.1", "port": 80}
            for options in CORS_OPTIONS for method, headers in requests
            for status, headers_ in inner]


def upstream_answers(python: Path, cases: list[dict[str, Any]], tmp_path: Path) -> Any:
    (tmp_path / "cases.json").write_text(json.dumps(cases))
    output = subprocess.run([str(python), "-c", UPSTREAM, str(tmp_path / "cases.json")],
                            check=True, capture_output=True, text=True).stdout
    return json.loads(output)


def our_app(case: dict[str, Any]) -> Any:
    inner = Inner(status=int(case["inner_status"].split()[0]), body=b"inner",
                  headers=[(k.lower().encode(), v.encode()) for k, v in case["inner_headers"]])
    if case["kind"] == "healthcheck":
        section = load_settings(overrides={"healthcheck": case["options"]}).healthcheck
        return HealthcheckMiddleware(inner, HealthcheckConfig.from_settings(section))
    return CORSMiddleware(inner, CorsPolicy.from_settings(
        load_settings(overrides={"cors": case["options"]}).cors))


def our_answer(case: dict[str, Any]) -> dict[str, Any]:
    scope = http_scope(path=case["path"], method=case["method"], headers=case["headers"],
                       client=(case["client"], 1) if case["client"] else None,
                       server=("localhost", case["port"]))
    answer = asyncio.run(call(our_app(case), scope))
    # A server sends no body for HEAD; webob's test request drops it likewise.
    body = b"" if case["method"] == "HEAD" else answer.body
    return {"status": answer.status, "headers": sorted([k.lower(), v] for k, v in answer.headers),
            "body": body.decode()}


@pytest.fixture(scope="module")
def upstream_python(repo_root: Path) -> Path:
    python = Path(os.environ.get("METALSCOPE_IRONIC_VENV") or repo_root / ".venv-ironic") / \
        "bin" / "python"
    if not python.is_file():
        if os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no"):
            pytest.fail(f"{python} is missing; CI is set, so this is an error", pytrace=False)
        pytest.skip(f"{python} is missing (run scripts/setup)")
    return python


@pytest.mark.parametrize("kind", ["healthcheck", "cors"])
def test_same_answers_as_oslo_middleware(kind: str, upstream_python: Path,
                                         tmp_path: Path) -> None:
    cases = health_cases(tmp_path) if kind == "healthcheck" else cors_cases()
    upstream = upstream_answers(upstream_python, cases, tmp_path)
    differences = [(case, theirs, ours) for case, theirs in zip(cases, upstream, strict=True)
                   if (ours := our_answer(case)) != theirs]
    assert not differences, json.dumps(differences[:3], indent=1)
    assert len(cases) > 100
