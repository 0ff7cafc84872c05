"""NodeChanges: the Ironic node and its ports as processing sees them, plus the edits to make.

Hooks and rule actions never call Ironic. They edit a NodeChanges, which applies each edit
to its local snapshot at once (so later hooks and rules see it) and records it. The
processing pipeline then flushes everything to Ironic in as few calls as possible: one
node PATCH for all property/capability/attribute edits, one call per trait change, and
one call per port created, patched or deleted. Edits that change nothing are dropped.

Capabilities. Ironic (and Nova) read ``properties/capabilities`` by splitting it on ``,``
and each item on ``:``, with no way to escape either, so a name or value containing one
would read back as other capabilities than the ones set (``boot_mode`` =
``uefi,secure_boot:true`` would add ``secure_boot``). :meth:`NodeChanges.update_capabilities`
refuses such a capability, and an empty name, with :class:`CapabilityError` naming it;
nothing of that update is applied.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from metalscope.errors import MetalScopeError
from metalscope.json_patch import apply_op, find, pointer_segments

PatchOp = dict[str, Any]

#: What Ironic splits the capabilities string on; neither can be escaped.
CAPABILITY_SEPARATORS = (",", ":")


def normalize_path(path: str) -> str:
    """Patch paths without a leading slash get one (spec 5.3)."""
    return path if path.startswith("/") else "/" + path


def parse_capabilities(value: Any) -> dict[str, str]:
    """Parse Ironic's ``k1:v1,k2:v2`` capabilities string (split on the first colon)."""
    if isinstance(value, dict):
        return {str(k): str(v) for k, v in value.items()}
    result: dict[str, str] = {}
    for item in (value or "").split(","):
        if ":" in item:
            key, val = item.split(":", 1)
            result[key.strip()] = val.strip()
    return result


def format_capabilities(caps: dict[str, Any]) -> str:
    return ",".join(f"{k}:{v}" for k, v in caps.items() if v is not None)


def capability_problem(name: str, value: Any) -> str | None:
    """Why ``name:value`` cannot go into Ironic's capabilities string, or None."""
    if not name:
        return "the name is empty"
    for part, text in (("name", name), ("value", str(value))):
        found = [repr(sep) for sep in CAPABILITY_SEPARATORS if sep in text]
        if found:
            return f"its {part} contains {' and '.join(found)}"
    return None


class CapabilityError(MetalScopeError):
    """A capability Ironic's ``key:value,key:value`` string cannot carry."""

    def __init__(self, name: str, value: Any, problem: str) -> None:
        super().__init__(f"Capability {_shortened(name)} cannot be set to "
                         f"{_shortened(str(value))}: {problem}, and Ironic reads capabilities "
                         "as name:value pairs separated by commas, with no escaping")
        self.name = name
        self.value = value


def _shortened(text: str, limit: int = 80) -> str:
    """``repr`` of ``text``, cut to about ``limit`` characters (the value may come from
    the ramdisk and be of any size)."""
    if len(text) <= limit:
        return repr(text)
    return repr(text[:limit]) + f"... ({len(text)} characters)"


@dataclass
class PortCreate:
    address: str
    extra: dict[str, Any]
    pxe_enabled: bool
    #: Other edits of the new port (``local_link_connection``, ``physical_network``), to PATCH
    #: once Ironic has created it: the create request only carries the fields above.
    ops: list[PatchOp] = field(default_factory=list)


@dataclass
class PendingChanges:
    """Everything a flush must send to Ironic, in order."""

    node_patch: list[PatchOp] = field(default_factory=list)
    reset_interfaces: bool | None = None
    traits_added: list[str] = field(default_factory=list)
    traits_removed: list[str] = field(default_factory=list)
    ports_created: list[PortCreate] = field(default_factory=list)
    ports_patched: dict[str, list[PatchOp]] = field(default_factory=dict)  # port uuid -> ops
    ports_deleted: list[str] = field(default_factory=list)  # port uuids

    def is_empty(self) -> bool:
        return not (self.node_patch or self.traits_added or self.traits_removed
                    or self.ports_created or self.ports_patched or self.ports_deleted)


def json_copy(value: Any) -> Any:
    """A copy of JSON-shaped ``value``: its dicts and lists are new, the rest (strings,
    numbers, and anything else, immutable in what Ironic sends) shared. Several times faster
    than ``copy.deepcopy``, which a callback would otherwise pay for the node and each port."""
    if isinstance(value, dict):
        return {key: json_copy(item) for key, item in value.items()}
    if isinstance(value, list):
        return [json_copy(item) for item in value]
    return value


class NodeChanges:
    """A locked node's snapshot (Ironic REST JSON) and its ports, edited locally.

    ``node`` is the node as Ironic returned it, with every edit applied. ``ports`` maps a
    lower-cased MAC address to the port JSON. ``pending`` holds what flush must send.
    """

    def __init__(self, node: dict[str, Any], ports: list[dict[str, Any]]) -> None:
        self.node = json_copy(node)
        self.node.setdefault("properties", {})
        self.node.setdefault("extra", {})
        self.node.setdefault("driver_info", {})
        self.node.setdefault("traits", [])
        self.ports: dict[str, dict[str, Any]] = {p["address"].lower(): json_copy(p)
                                                 for p in ports}
        self.pending = PendingChanges()

    # -- reading ---------------------------------------------------------------------------
    @property
    def uuid(self) -> str:
        return str(self.node["uuid"])

    @property
    def provision_state(self) -> str:
        return str(self.node.get("provision_state") or "")

    @property
    def properties(self) -> dict[str, Any]:
        return self.node["properties"]  # type: ignore[no-any-return]

    @property
    def capabilities(self) -> dict[str, str]:
        return parse_capabilities(self.properties.get("capabilities"))

    @property
    def traits(self) -> list[str]:
        return list(self.node.get("traits") or [])

    # -- node edits ------------------------------------------------------------------------
    def patch(self, ops: list[PatchOp], reset_interfaces: bool | None = None) -> None:
        """Apply JSON-patch ops (Ironic semantics: ``add`` replaces) locally and record them."""
        for op in ops:
            op = dict(op, path=normalize_path(op["path"]))
            if self._is_noop(op):
                continue
            self._apply(self.node, op)
            self.pending.node_patch.append(op)
        if reset_interfaces is not None:
            self.pending.reset_interfaces = reset_interfaces

    def update_properties(self, **props: Any) -> None:
        self.patch([{"op": "add", "path": f"/properties/{k}", "value": v}
                    for k, v in props.items()])

    def update_capabilities(self, **caps: Any) -> None:
        """Merge capabilities; a ``None`` value removes the capability (spec 5.3).

        Raises CapabilityError, changing nothing, when a name or value cannot be written
        into Ironic's capabilities string.
        """
        for name, value in caps.items():
            problem = None if value is None else capability_problem(name, value)
            if problem is not None:
                raise CapabilityError(name, value, problem)
        merged: dict[str, Any] = dict(self.capabilities)
        merged.update(caps)
        self.patch([{"op": "add", "path": "/properties/capabilities",
                     "value": format_capabilities(merged)}])

    def add_trait(self, name: str) -> None:
        if name in self.node["traits"]:
            return
        self.node["traits"].append(name)
        if name in self.pending.traits_removed:
            self.pending.traits_removed.remove(name)
        else:
            self.pending.traits_added.append(name)

    def remove_trait(self, name: str) -> None:
        if name not in self.node["traits"]:
            return
        self.node["traits"].remove(name)
        if name in self.pending.traits_added:
            self.pending.traits_added.remove(name)
        else:
            self.pending.traits_removed.append(name)

    # -- port edits ------------------------------------------------------------------------
    def create_port(self, address: str, extra: dict[str, Any] | None = None,
                    pxe_enabled: bool = True) -> None:
        address = address.lower()
        if address in self.ports:
            return
        self.ports[address] = {"address": address, "extra": extra or {},
                               "pxe_enabled": pxe_enabled, "uuid": None,
                               "local_link_connection": {}, "physical_network": None}
        self.pending.ports_created.append(PortCreate(address, extra or {}, pxe_enabled))

    def delete_port(self, address: str) -> None:
        port = self.ports.pop(address.lower(), None)
        if port is None:
            return
        if port.get("uuid"):
            self.pending.ports_deleted.append(port["uuid"])
            self.pending.ports_patched.pop(port["uuid"], None)
        else:
            self.pending.ports_created = [p for p in self.pending.ports_created
                                          if p.address != address.lower()]

    def patch_port(self, address: str, ops: list[PatchOp]) -> None:
        port = self.ports[address.lower()]
        for op in ops:
            op = dict(op, path=normalize_path(op["path"]))
            if self._is_noop(op, port):
                continue
            self._apply(port, op)
            if port.get("uuid"):
                self.pending.ports_patched.setdefault(port["uuid"], []).append(op)
            else:
                self._fold_into_create(address.lower(), port, op)

    # -- helpers ---------------------------------------------------------------------------
    def _fold_into_create(self, address: str, port: dict[str, Any], op: PatchOp) -> None:
        for created in self.pending.ports_created:
            if created.address == address:
                created.extra = port.get("extra") or {}
                created.pxe_enabled = bool(port.get("pxe_enabled", True))
                if pointer_segments(op["path"])[0] not in _CREATE_FIELDS:
                    created.ops.append(op)

    def _is_noop(self, op: PatchOp, doc: dict[str, Any] | None = None) -> bool:
        """An ``add``/``replace`` that writes the value already there changes nothing."""
        if op["op"] not in ("add", "replace"):
            return False
        found, value = find(self.node if doc is None else doc, op["path"])
        return found and bool(value == op.get("value"))

    @staticmethod
    def _apply(doc: dict[str, Any], op: PatchOp) -> None:
        apply_op(doc, op)


#: Port fields a create request carries itself; edits of any other field wait in ``ops``.
_CREATE_FIELDS = frozenset({"extra", "pxe_enabled"})
