"""The swift data store and its client: object names, requests, retries, error texts.

HTTP is an ``httpx.MockTransport``; the real Swift is exercised in
tests/integration/test_swift_store.py.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping

import httpx
import pytest

from metalscope.errors import ConfigurationError, ObjectMissing, ObjectStorageError
from metalscope.settings import load_settings
from metalscope.storage.data_store import check_store_settings
from metalscope.storage.swift_client import (
    Retries,
    StaticAccess,
    SwiftClient,
    SwiftUnreachable,
    delay_for,
    error_details,
    status_error_text,
)
from metalscope.storage.swift_store import SwiftStore, object_name, swift_client

ACCOUNT = "http://swift.test:8080/v1/AUTH_demo"
UUID = "1be26c0b-03f2-4d2e-ae87-c02d7f33c123"
NOT_FOUND_PAGE = "<html><h1>Not Found</h1><p>The resource could not be found.</p></html>"

Handler = Callable[[httpx.Request], httpx.Response]


def recorder(*responses: httpx.Response | Exception) -> tuple[Handler, list[httpx.Request]]:
    """A handler giving ``responses`` in order (the last one again), and what it saw."""
    seen: list[httpx.Request] = []

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        answer = responses[min(len(seen), len(responses)) - 1]
        if isinstance(answer, Exception):
            raise answer
        return answer
    return handle, seen


def store(handler: Handler, *, delete_after: int = 0, retries: Retries | None = None,
          access: StaticAccess | None = None, sleeps: list[float] | None = None) -> SwiftStore:
    async def sleep(seconds: float) -> None:
        (sleeps if sleeps is not None else []).append(seconds)
    http = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    client = SwiftClient(access or StaticAccess(ACCOUNT), http, retries, sleep)
    return SwiftStore(client, "ironic-inspector", delete_after)


def html_404() -> httpx.Response:
    return httpx.Response(404, text=NOT_FOUND_PAGE,
                          headers={"Content-Type": "text/html; charset=UTF-8"})


def test_object_names_are_upstreams() -> None:
    assert object_name(UUID, True) == f"inspector_data-{UUID}"
    assert object_name(UUID, False) == f"inspector_data-{UUID}-UNPROCESSED"


async def test_save_creates_the_container_then_the_object_without_logs() -> None:
    handler, seen = recorder(httpx.Response(202), httpx.Response(201))
    await store(handler).save(UUID, False, {"inventory": {"a": 1}, "logs": "abc"})
    assert [(r.method, str(r.url)) for r in seen] == [
        ("PUT", f"{ACCOUNT}/ironic-inspector"),
        ("PUT", f"{ACCOUNT}/ironic-inspector/inspector_data-{UUID}-UNPROCESSED")]
    assert seen[1].content == json.dumps({"inventory": {"a": 1}}).encode()
    assert "x-delete-after" not in seen[1].headers


async def test_delete_after_is_sent_on_the_object_only() -> None:
    handler, seen = recorder(httpx.Response(201))
    await store(handler, delete_after=3600).save(UUID, True, {})
    assert "x-delete-after" not in seen[0].headers
    assert seen[1].headers["X-Delete-After"] == "3600"


async def test_get_returns_the_object_text() -> None:
    handler, seen = recorder(httpx.Response(200, content=b'{"a": 1}'))
    assert await store(handler).get(UUID, True) == '{"a": 1}'
    assert str(seen[0].url) == f"{ACCOUNT}/ironic-inspector/inspector_data-{UUID}"


async def test_missing_object_is_upstreams_400_message() -> None:
    handler, _ = recorder(html_404())
    with pytest.raises(ObjectMissing) as info:
        await store(handler).get(UUID, False)
    name = f"inspector_data-{UUID}-UNPROCESSED"
    assert str(info.value) == (
        f"Swift failed to get object {name} in container ironic-inspector. Error was: "
        f"NotFoundException: 404: Client Error for url: {ACCOUNT}/ironic-inspector/{name}, "
        "Not FoundThe resource could not be found.")


async def test_container_failure() -> None:
    handler, seen = recorder(httpx.Response(507, text="Insufficient Storage"))
    with pytest.raises(ObjectStorageError) as info:
        await store(handler).save(UUID, True, {})
    assert len(seen) == 1
    assert str(info.value) == (
        "Swift failed to create container ironic-inspector. Error was: HttpException: 507: "
        f"Server Error for url: {ACCOUNT}/ironic-inspector, Insufficient Storage")


async def test_object_failure() -> None:
    handler, _ = recorder(httpx.Response(201), httpx.Response(403, text=""))
    with pytest.raises(ObjectStorageError) as info:
        await store(handler).save(UUID, True, {})
    assert str(info.value) == (
        f"Swift failed to create object inspector_data-{UUID} in container ironic-inspector. "
        f"Error was: ForbiddenException: 403: Client Error for url: "
        f"{ACCOUNT}/ironic-inspector/inspector_data-{UUID}, Forbidden")


async def test_no_connection_is_worded_as_keystoneauth_does() -> None:
    handler, _ = recorder(httpx.ConnectError("[Errno 111] Connection refused"))
    with pytest.raises(ObjectStorageError) as info:
        await store(handler).get(UUID, True)
    assert str(info.value) == (
        f"Swift failed to get object inspector_data-{UUID} in container ironic-inspector. "
        f"Error was: Unable to establish connection to {ACCOUNT}/ironic-inspector/"
        f"inspector_data-{UUID}: [Errno 111] Connection refused")
    assert not isinstance(info.value, ObjectMissing)


async def test_timeout() -> None:
    handler, _ = recorder(httpx.ReadTimeout("slow"))
    with pytest.raises(ObjectStorageError, match=r"Error was: Request to .* timed out$"):
        await store(handler).get(UUID, True)


class FailingAccess(StaticAccess):
    async def endpoint(self) -> str:
        raise SwiftUnreachable("The request you have made requires authentication. (HTTP 401)")


@pytest.mark.parametrize("call", ["save", "get"])
async def test_keystone_failure_is_could_not_connect(call: str) -> None:
    handler, seen = recorder(httpx.Response(201))
    swift = store(handler, access=FailingAccess(ACCOUNT))
    with pytest.raises(ObjectStorageError) as info:
        await (swift.save(UUID, True, {}) if call == "save" else swift.get(UUID, True))
    assert str(info.value) == ("Could not connect to the object storage service: The request "
                               "you have made requires authentication. (HTTP 401)")
    assert not seen


async def test_no_retries_by_default_as_upstream() -> None:
    handler, seen = recorder(httpx.ConnectError("refused"))
    with pytest.raises(ObjectStorageError):
        await store(handler).get(UUID, True)
    handler503, seen503 = recorder(httpx.Response(503))
    with pytest.raises(ObjectStorageError, match="HttpException: 503: Server Error"):
        await store(handler503).get(UUID, True)
    assert len(seen) == len(seen503) == 1


async def test_connect_retries_with_keystoneauths_pacing() -> None:
    sleeps: list[float] = []
    handler, seen = recorder(httpx.ConnectError("refused"), httpx.ConnectError("refused"),
                             httpx.Response(200, content=b"{}"))
    swift = store(handler, retries=Retries(connect=3), sleeps=sleeps)
    assert await swift.get(UUID, True) == "{}"
    assert len(seen) == 3 and sleeps == [0.5, 1.0]


async def test_connect_retries_run_out() -> None:
    sleeps: list[float] = []
    handler, seen = recorder(httpx.ConnectError("refused"))
    with pytest.raises(ObjectStorageError, match="Unable to establish connection"):
        await store(handler, retries=Retries(connect=2, connect_delay=0.25),
                    sleeps=sleeps).get(UUID, True)
    assert len(seen) == 3 and sleeps == [0.25, 0.25]


async def test_status_code_retries_only_for_retriable_codes() -> None:
    sleeps: list[float] = []
    handler, seen = recorder(httpx.Response(503), httpx.Response(429), httpx.Response(201))
    await store(handler, retries=Retries(status=2), sleeps=sleeps).save(UUID, True, {})
    assert len(seen) == 4 and sleeps == [0.5, 1.0]
    handler, seen = recorder(httpx.Response(500))
    with pytest.raises(ObjectStorageError):
        await store(handler, retries=Retries(status=2)).get(UUID, True)
    assert len(seen) == 1


def test_retry_pacing() -> None:
    assert [delay_for(n, None) for n in (1, 2, 3, 8, 9)] == [0.5, 1.0, 2.0, 60.0, 60.0]
    assert delay_for(4, 1.5) == 1.5


class RotatingAccess(StaticAccess):
    def __init__(self) -> None:
        super().__init__(ACCOUNT)
        self.tokens = iter(["old", "new"])
        self.current = next(self.tokens)

    async def headers(self, stale: Mapping[str, str] | None = None) -> dict[str, str]:
        if stale is not None and stale.get("X-Auth-Token") == self.current:
            self.current = next(self.tokens)
        return {"X-Auth-Token": self.current}


async def test_401_fetches_a_new_token_once() -> None:
    handler, seen = recorder(httpx.Response(401), httpx.Response(200, content=b"{}"))
    assert await store(handler, access=RotatingAccess()).get(UUID, True) == "{}"
    assert [r.headers["X-Auth-Token"] for r in seen] == ["old", "new"]
    handler, seen = recorder(httpx.Response(401))
    with pytest.raises(ObjectStorageError, match="401: Client Error"):
        await store(handler, access=RotatingAccess()).get(UUID, True)
    assert len(seen) == 2


def test_error_details() -> None:
    assert error_details("text/html; charset=UTF-8", NOT_FOUND_PAGE, "Not Found") == (
        "Not FoundThe resource could not be found.")
    assert error_details("text/html", "<h1>Bad</h1>\n<p>Worse</p>\n<p>Worse</p>", "") == (
        "Bad: Worse")
    assert error_details("application/json", '{"error": {"message": "no"}}', "X") == "no"
    assert error_details("text/plain", "", "Service Unavailable") == "Service Unavailable"
    assert status_error_text(409, "http://s/c", "") == (
        "ConflictException: 409: Client Error for url: http://s/c")


def test_client_from_settings_reads_keystoneauths_retry_options() -> None:
    settings = load_settings(overrides={"swift": {
        "auth_type": "none", "endpoint_override": ACCOUNT, "connect_retries": 4,
        "status_code_retries": 2, "status_code_retry_delay": 3.0,
        "retriable_status_codes": [500, 503]}})
    client = swift_client(settings)
    assert client._retries == Retries(connect=4, status=2, status_delay=3.0,
                                      status_codes=(500, 503))


def test_invalid_auth_options_refuse_to_start() -> None:
    settings = load_settings(overrides={"swift": {"auth_type": "no-such-plugin"}})
    with pytest.raises(ConfigurationError, match=r"^Invalid \[swift\] authentication options"):
        swift_client(settings)


def test_serve_refuses_swift_options_that_cannot_work() -> None:
    """serve's start-up check builds the store: upstream's default auth_type = password
    without auth_url stops it with one line instead of failing every save."""
    settings = load_settings(overrides={"processing": {"store_data": "swift"}})
    with pytest.raises(ConfigurationError) as info:
        check_store_settings(settings)
    assert str(info.value) == ("Invalid [swift] authentication options: Auth plugin requires "
                               "parameters which were not given: auth_url")
    check_store_settings(load_settings(overrides={
        "processing": {"store_data": "swift"},
        "swift": {"auth_type": "none", "endpoint_override": ACCOUNT}}))


async def test_check_heads_the_container_and_writes_nothing() -> None:
    handler, seen = recorder(httpx.Response(204))
    assert await store(handler).check() == "Swift answered; container ironic-inspector exists"
    assert [(r.method, str(r.url)) for r in seen] == [("HEAD", f"{ACCOUNT}/ironic-inspector")]


async def test_check_of_a_missing_container_is_fine() -> None:
    handler, _ = recorder(httpx.Response(404))
    assert "does not exist yet and is created at the first save" in await store(handler).check()


async def test_check_refused_or_unreachable() -> None:
    handler, _ = recorder(httpx.Response(403, text="denied"))
    with pytest.raises(ObjectStorageError,
                       match=r"^Swift failed to read container ironic-inspector\. Error was: "):
        await store(handler).check()
    handler, _ = recorder(httpx.ConnectError("refused"))
    with pytest.raises(ObjectStorageError, match="Error was: "):
        await store(handler).check()
