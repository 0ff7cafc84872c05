"""The simulated ``dmi`` section is what ironic-python-agent's own parser makes of the
dmidecode output it stands for (``ironic_python_agent.dmi_inspector.parse_dmi``)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from metalscope.simulator import dmi_section, dmidecode_text, make_node, remove_dimm

PARSE = ("import json, sys\n"
         "from ironic_python_agent.dmi_inspector import parse_dmi\n"
         "print(json.dumps([parse_dmi(text) for text in json.load(sys.stdin)]))\n")


def test_ipas_parser_gives_back_the_simulated_section(upstream_bin: Path) -> None:
    nodes = [make_node(21, index) for index in range(12)]
    nodes.append(remove_dimm(make_node(21, 0, virtual=False)))
    texts = [dmidecode_text(node) for node in nodes]
    answer = subprocess.run([str(upstream_bin / "python"), "-c", PARSE], input=json.dumps(texts),
                            capture_output=True, text=True, check=True, timeout=120)
    parsed = json.loads(answer.stdout)
    assert parsed == [dmi_section(node) for node in nodes]
    assert any(len(node.dimms) > 1 for node in nodes) and any(node.virtual for node in nodes)
