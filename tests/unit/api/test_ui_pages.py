"""The fleet pages over a fleet store of our own: the DOM the browser tests rely on, paging,
sorting and filtering links, the node page, security headers and the error pages."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from metalscope.errors import ObjectStorageError
from metalscope.settings import Settings, load_settings
from metalscope.storage import migrate
from tests.history_seed import processed, seed
from tests.unit.ui.fleet_fake import FakeFleetStore, row, summary
from tests.unit.ui.pages import page_client, parse

NODE = "9d2b0a3c-2f43-4b8e-9d43-6a2f8bb4e1f5"
OTHER = "1c6f6d35-7f0a-4c8e-8d1e-0b0d1c3e2a11"
SECURITY = {"content-security-policy": "default-src 'self'", "x-content-type-options": "nosniff",
            "x-frame-options": "DENY", "referrer-policy": "no-referrer"}


def make_settings(tmp_path: Path, **sections: dict[str, object]) -> Settings:
    url = f"sqlite:///{tmp_path / 'ms.sqlite'}"
    migrate.upgrade(url)
    return load_settings(overrides={"database": {"connection": url}, **sections})


@pytest.fixture
def fleet() -> FakeFleetStore:
    rows = [row(NODE, "rack-1", hardware=summary(), minutes=5),
            row(OTHER, None, "error", error="Ramdisk <b>failed</b>", minutes=1),
            row("0f0e0d0c-0000-4000-8000-000000000003", "waiting-1", "waiting")]
    return FakeFleetStore(rows)


@pytest.fixture
def client(tmp_path: Path, fleet: FakeFleetStore) -> Iterator[TestClient]:
    settings = make_settings(tmp_path, processing={"store_data": "none"})
    with page_client(settings, fleet) as test_client:
        yield test_client


def assert_secure(response: object) -> None:
    headers = response.headers  # type: ignore[attr-defined]
    for name, value in SECURITY.items():
        assert headers[name] == value


class TestFleet:
    def test_table(self, client: TestClient) -> None:
        response = client.get("/ui/")
        assert response.status_code == 200
        assert response.headers["content-type"] == "text/html; charset=utf-8"
        assert_secure(response)
        doc = parse(response.text)
        assert doc.by_id("total").text == "3"
        rows = doc.by_class("node-row", "tr")
        assert [r.attrs["data-uuid"] for r in rows][:2] == [NODE, OTHER]
        first = rows[0]
        cells = {c: first.by_class(f"col-{c}", "td")[0].all_text() for c in (
            "name", "uuid", "state", "finished", "vendor", "cpu", "memory", "disks", "nics",
            "rules")}
        assert cells == {"name": "rack-1", "uuid": NODE, "state": "finished",
                         "finished": "2026-01-01 12:05:00 UTC",
                         "vendor": "Dell Inc. PowerEdge R640", "cpu": "40 × x86_64",
                         "memory": "192 GiB", "disks": "2 · 1.9 TB", "nics": "2",
                         "rules": "big memory"}
        assert first.attrs["data-state"] == "finished"
        link = first.by_class("node-link", "a")[0]
        assert link.attrs["href"] == f"/ui/nodes/{NODE}"

    def test_unnamed_node_and_error_escaped(self, client: TestClient) -> None:
        response = client.get("/ui/")
        assert "<b>failed</b>" not in response.text
        assert "Ramdisk &lt;b&gt;failed&lt;/b&gt;" in response.text
        other = parse(response.text).by_class("node-row")[1]
        assert other.by_class("col-name")[0].all_text() == OTHER
        assert other.by_class("col-memory")[0].all_text() == "—"

    def test_form_and_sort_links(self, client: TestClient) -> None:
        doc = parse(client.get("/ui/").text)
        form = doc.by_id("filters")
        assert form is not None and form.attrs["method"] == "get"
        assert doc.by_id("search").attrs["name"] == "q"  # type: ignore[union-attr]
        state = doc.by_id("state-filter")
        assert state is not None and state.attrs["name"] == "state"
        assert state.children[0].attrs["value"] == ""
        assert doc.by_id("apply").attrs["type"] == "submit"  # type: ignore[union-attr]
        sorts = {a.attrs["data-sort"]: a.attrs["href"] for a in doc.by_class("sort", "a")}
        assert sorts["name"] == "/ui/?sort=name&desc=0"
        assert sorts["memory_mib"] == "/ui/?sort=memory_mib"
        # Sorted by finished_at, newest first, by default: the link flips the direction.
        assert sorts["finished_at"] == "/ui/?desc=0"

    def test_search_and_state(self, client: TestClient, fleet: FakeFleetStore) -> None:
        doc = parse(client.get("/ui/", params={"q": "poweredge", "sort": "name"}).text)
        assert [r.attrs["data-uuid"] for r in doc.by_class("node-row")] == [NODE]
        assert doc.by_id("search").attrs["value"] == "poweredge"  # type: ignore[union-attr]
        hidden = {e.attrs["name"]: e.attrs["value"] for e in doc.find_all(
            lambda e: e.attrs.get("type") == "hidden")}
        assert hidden == {"sort": "name"}
        doc = parse(client.get("/ui/", params={"state": "error"}).text)
        assert [r.attrs["data-state"] for r in doc.by_class("node-row")] == ["error"]
        selected = [o for o in doc.by_id("state-filter").children  # type: ignore[union-attr]
                    if "selected" in o.attrs]
        assert [o.attrs["value"] for o in selected] == ["error"]

    def test_no_match(self, client: TestClient) -> None:
        doc = parse(client.get("/ui/", params={"q": "nothing-like-this"}).text)
        assert doc.by_id("no-nodes") is not None
        assert doc.by_id("fleet") is None
        assert doc.by_id("total").text == "0"  # type: ignore[union-attr]

    def test_pager(self, tmp_path: Path) -> None:
        rows = [row(f"00000000-0000-4000-8000-{n:012d}", f"n{n:03d}") for n in range(120)]
        with page_client(make_settings(tmp_path), FakeFleetStore(rows)) as client:
            doc = parse(client.get("/ui/", params={"sort": "name", "desc": "0"}).text)
            assert doc.by_id("prev-page") is None
            assert doc.by_id("next-page").attrs["href"] == (  # type: ignore[union-attr]
                "/ui/?sort=name&desc=0&offset=50")
            assert doc.by_id("page-info").text == "1 to 50 of 120"  # type: ignore[union-attr]
            doc = parse(client.get("/ui/?sort=name&desc=0&offset=100").text)
            assert doc.by_id("next-page") is None
            assert doc.by_id("prev-page").attrs["href"] == (  # type: ignore[union-attr]
                "/ui/?sort=name&desc=0&offset=50")
            assert doc.by_id("page-info").text == "101 to 120 of 120"  # type: ignore[union-attr]
            assert len(doc.by_class("node-row")) == 20

    @pytest.mark.parametrize("query", ["sort=cpu", "state=sleeping", "offset=-1", "limit=0",
                                       "limit=501", "desc=maybe", "offset=x", "q=a&q=b"])
    def test_bad_parameters_are_400_pages(self, client: TestClient, query: str) -> None:
        response = client.get(f"/ui/?{query}")
        assert response.status_code == 400
        assert response.headers["content-type"] == "text/html; charset=utf-8"
        assert_secure(response)
        assert parse(response.text).by_id("error-title").text == (  # type: ignore[union-attr]
            "400 Bad Request")

    def test_redirect_and_head(self, client: TestClient) -> None:
        response = client.get("/ui")
        assert response.status_code == 307
        assert response.headers["location"] == "/ui/"
        head = client.head("/ui/")
        assert head.status_code == 200 and head.content == b""

    def test_outside_the_versioned_api(self, client: TestClient) -> None:
        """No version negotiation: a bad version header does not matter, no version
        headers are added, and the trailing slash stays."""
        response = client.get("/ui/", headers={"X-OpenStack-Ironic-Inspector-API-Version": "x"})
        assert response.status_code == 200
        assert "x-openstack-ironic-inspector-api-maximum-version" not in response.headers

    def test_static_files(self, client: TestClient) -> None:
        css = client.get("/ui/static/ui.css")
        assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
        assert_secure(css)
        assert "@media" in css.text
        js = client.get("/ui/static/ui.js")
        assert js.headers["content-type"].startswith("text/javascript")
        assert client.get("/ui/static/../app.py").status_code == 404
        assert client.get("/ui/static/nothing.css").status_code == 404

    def test_no_external_assets(self, client: TestClient) -> None:
        text = client.get("/ui/").text + client.get(f"/ui/nodes/{NODE}").text
        assert "http://" not in text and "https://" not in text and "<script>" not in text


class TestNode:
    def test_from_summary_when_nothing_stored(self, client: TestClient) -> None:
        response = client.get(f"/ui/nodes/{NODE}")
        assert response.status_code == 200
        assert_secure(response)
        doc = parse(response.text)
        assert doc.by_id("node-title").text == "rack-1"  # type: ignore[union-attr]
        assert doc.by_id("node-state").text == "finished"  # type: ignore[union-attr]
        assert doc.by_id("node-error") is None
        for section in ("hw-system", "hw-cpu", "hw-memory", "hw-disks", "hw-nics", "hw-pci",
                        "rules-matched"):
            assert doc.by_id(section) is not None, section
        assert "Dell Inc." in doc.by_id("hw-system").all_text()  # type: ignore[union-attr]
        assert "192 GiB" in doc.by_id("hw-memory").all_text()  # type: ignore[union-attr]
        assert len(doc.by_class("nic", "tr")) == 2
        assert "big memory" in doc.by_id("rules-matched").all_text()  # type: ignore[union-attr]
        stored = doc.by_id("stored-data")
        assert stored is not None and "not stored" in stored.all_text()
        assert doc.by_id("history") is None and doc.by_id("diff") is None

    def test_by_name(self, client: TestClient) -> None:
        doc = parse(client.get("/ui/nodes/rack-1").text)
        assert doc.by_id("node-uuid").text == NODE  # type: ignore[union-attr]
        assert client.get("/ui/nodes/rack").status_code == 404
        assert client.get("/ui/nodes/" + "r" * 300).status_code == 404

    def test_error_node(self, client: TestClient) -> None:
        doc = parse(client.get(f"/ui/nodes/{OTHER}").text)
        assert doc.by_id("node-title").text == OTHER  # type: ignore[union-attr]
        assert doc.by_id("node-error").all_text() == (  # type: ignore[union-attr]
            "Ramdisk <b>failed</b>")

    def test_unknown_node_is_a_404_page(self, client: TestClient) -> None:
        response = client.get("/ui/nodes/00000000-0000-4000-8000-00000000dead")
        assert response.status_code == 404
        assert_secure(response)
        assert "404 Not Found" in response.text

    @pytest.mark.parametrize("query", ["from=x", "to=0", "from=1&from=2"])
    def test_bad_versions_are_400(self, client: TestClient, query: str) -> None:
        assert client.get(f"/ui/nodes/{NODE}?{query}").status_code == 400


class BrokenStore:
    """A data store that cannot be read (Swift down)."""

    enabled = True
    in_repository = False

    async def get(self, uuid: str, processed: bool) -> str | None:
        raise ObjectStorageError("Swift answered 503")


def test_unreadable_store_still_shows_the_page(tmp_path: Path, fleet: FakeFleetStore) -> None:
    settings = make_settings(tmp_path, processing={"store_data": "none"})
    with page_client(settings, fleet, data_store=BrokenStore()) as client:
        response = client.get(f"/ui/nodes/{NODE}")
    assert response.status_code == 200
    doc = parse(response.text)
    assert "could not be read: Swift answered 503" in doc.by_id("stored-data").all_text()  # type: ignore[union-attr]
    assert "Dell Inc." in doc.by_id("hw-system").all_text()  # type: ignore[union-attr]


class TestNodeWithHistory:
    @pytest.fixture
    def client(self, tmp_path: Path, fleet: FakeFleetStore) -> Iterator[TestClient]:
        settings = make_settings(tmp_path, processing={"store_data": "database"})
        seed(settings, NODE, [processed(65536), processed(65536), processed(57344)])
        with page_client(settings, fleet) as test_client:
            yield test_client

    def test_history_and_default_diff(self, client: TestClient) -> None:
        doc = parse(client.get(f"/ui/nodes/{NODE}").text)
        versions = doc.by_class("version", "tr")
        assert [v.attrs["data-version"] for v in versions] == ["3", "2", "1"]
        diff = doc.by_id("diff")
        assert diff is not None
        assert diff.by_id("diff-summary").text == "memory 64 GiB → 56 GiB"  # type: ignore[union-attr]
        old, new = diff.by_class("diff-old")[0], diff.by_class("diff-new")[0]
        assert "64 GiB" in old.all_text() and "56 GiB" in new.all_text()
        assert [m.text for m in new.find_all(lambda e: e.tag == "mark")] == ["56 GiB"]
        assert "Version 2" in old.all_text() and "Version 3" in new.all_text()

    def test_chosen_versions(self, client: TestClient) -> None:
        doc = parse(client.get(f"/ui/nodes/{NODE}?from=1&to=2").text)
        assert doc.by_id("diff-summary").text == "no hardware change"  # type: ignore[union-attr]

    def test_missing_version_is_404(self, client: TestClient) -> None:
        assert client.get(f"/ui/nodes/{NODE}?from=9").status_code == 404

    def test_hardware_from_stored_data(self, client: TestClient) -> None:
        doc = parse(client.get(f"/ui/nodes/{NODE}").text)
        # Nothing in the data store for this node: the panel says so.
        assert "nothing stored" in doc.by_id("stored-data").all_text()  # type: ignore[union-attr]
