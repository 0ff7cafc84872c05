"""Run by the Ironic virtual environment's Python (it has jsonschema, MetalScope's does not):
checks random condition and action lists against upstream's schemas with jsonschema's
``validate`` and with :func:`metalscope.rules.schema.schema_error`, and prints one JSON line:
how many lists were checked, how many were invalid, and the first lists whose texts differ.

Usage: python rule_schema_reference.py SEED COUNT
"""

from __future__ import annotations

import importlib.metadata
import json
import random
import sys
from typing import Any

import jsonschema

from metalscope.rules.schema import actions_schema, conditions_schema, schema_error

OPERATORS = ["eq", "ne", "lt", "le", "gt", "ge", "in-net", "matches", "contains", "is-empty"]
ACTIONS = ["fail", "set-attribute", "set-capability", "extend-attribute", "add-trait",
           "remove-trait", "example"]
ODD_VALUES: list[Any] = [None, True, False, 0, 1, 1.5, "", "eq", "all", [], ["eq"], {},
                         {"a": 1}, "fail", "a" * 90]
CONDITION_KEYS: list[tuple[str, list[Any]]] = [
    ("op", [*OPERATORS, "bogus", 3, None, ["eq"]]), ("field", ["memory_mb", 5, None, "x" * 80]),
    ("multiple", ["all", "any", "first", "some", None, 1]), ("invert", [True, False, "yes", 0]),
    ("value", [1, "x"])]
ACTION_KEYS: list[tuple[str, list[Any]]] = [
    ("action", [*ACTIONS, "explode", 1, None]), ("name", ["x"]), ("message", [None, "m"])]


def random_item(rng: random.Random, keys: list[tuple[str, list[Any]]]) -> Any:
    if rng.random() < 0.1:
        return rng.choice(ODD_VALUES)
    return {key: rng.choice(choices) for key, choices in keys if rng.random() < 0.75}


def random_list(rng: random.Random, keys: list[tuple[str, list[Any]]]) -> Any:
    if rng.random() < 0.05:
        return rng.choice(ODD_VALUES)
    return [random_item(rng, keys) for _ in range(rng.randint(0, 4))]


def reference_text(instance: Any, schema: dict[str, Any]) -> str | None:
    try:
        jsonschema.validate(instance, schema)
    except jsonschema.ValidationError as exc:
        return str(exc)
    return None


def main(seed: int, count: int) -> None:
    rng = random.Random(seed)
    schemas = [(conditions_schema(OPERATORS), CONDITION_KEYS),
               (actions_schema(ACTIONS), ACTION_KEYS)]
    checked = invalid = 0
    differences = []
    for _ in range(count):
        for schema, keys in schemas:
            instance = random_list(rng, keys)
            expected = reference_text(instance, schema)
            found = schema_error(instance, schema)
            checked += 1
            invalid += expected is not None
            if expected != (None if found is None else str(found)) and len(differences) < 3:
                differences.append({"instance": repr(instance), "expected": expected,
                                    "found": None if found is None else str(found)})
    print(json.dumps({"checked": checked, "invalid": invalid, "differences": differences,
                      "jsonschema": importlib.metadata.version("jsonschema")}))


if __name__ == "__main__":
    main(int(sys.argv[1]), int(sys.argv[2]))
