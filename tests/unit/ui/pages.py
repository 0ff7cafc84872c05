"""The pages' test client: the app over a real SQLite file with a fleet store of our own,
and an HTML parser that finds elements by id and class."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any

from starlette.testclient import TestClient

from metalscope.app import create_app
from metalscope.auth import AccessControl, NoAuth
from metalscope.coordination import LocalCoordinator
from metalscope.extensions import ExtensionRegistry
from metalscope.pxe_filter.base import NoopFilter
from metalscope.services import BootPacer, Services
from metalscope.settings import Settings
from metalscope.storage.data_store import create_store
from metalscope.storage.engine import create_engine
from metalscope.storage.repository import Repository
from tests.fakes import FakeIronic
from tests.unit.api.conftest import ready_made


def page_client(settings: Settings, fleet: Any, auth: AccessControl | None = None,
                base_url: str = "http://testserver", ironic: FakeIronic | None = None,
                data_store: Any = None) -> TestClient:
    """``fleet`` replaces the repository's FleetStore unless None; nodes missing from
    ``ironic`` are forgotten by the background duties."""
    def build(s: Settings) -> Services:
        repo = Repository(create_engine(s.database.connection))
        if fleet is not None:
            repo.fleet = fleet
        return Services(settings=s, repo=repo, ironic=ironic or FakeIronic(),  # type: ignore[arg-type]
                        coordinator=LocalCoordinator(), extensions=ExtensionRegistry(),
                        pxe_filter=NoopFilter(),
                        data_store=data_store or create_store(s, repo),
                        pacer=BootPacer(0), auth=auth or NoAuth())
    return TestClient(create_app(settings, ready_made(build)), raise_server_exceptions=False,
                      base_url=base_url, follow_redirects=False)


@dataclass
class Element:
    tag: str
    attrs: dict[str, str]
    text: str = ""
    children: list[Element] = field(default_factory=list)

    def classes(self) -> set[str]:
        return set(self.attrs.get("class", "").split())

    def walk(self) -> list[Element]:
        return [self, *(e for child in self.children for e in child.walk())]

    def find_all(self, match: Callable[[Element], bool]) -> list[Element]:
        return [e for e in self.walk() if match(e)]

    def by_id(self, ident: str) -> Element | None:
        found = self.find_all(lambda e: e.attrs.get("id") == ident)
        return found[0] if found else None

    def by_class(self, name: str, tag: str | None = None) -> list[Element]:
        return self.find_all(lambda e: name in e.classes() and tag in (None, e.tag))

    def all_text(self) -> str:
        return " ".join(" ".join([self.text, *(c.all_text() for c in self.children)]).split())


VOID = {"meta", "link", "input", "br", "hr", "img"}


class _Builder(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.root = Element("document", {})
        self.stack = [self.root]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        element = Element(tag, {k: v or "" for k, v in attrs})
        self.stack[-1].children.append(element)
        if tag not in VOID:
            self.stack.append(element)

    def handle_endtag(self, tag: str) -> None:
        for index in range(len(self.stack) - 1, 0, -1):
            if self.stack[index].tag == tag:
                del self.stack[index:]
                return

    def handle_data(self, data: str) -> None:
        self.stack[-1].text += data


def parse(html: str) -> Element:
    builder = _Builder()
    builder.feed(html)
    builder.close()
    return builder.root
