"""Hardware diff: what changed between two introspections of one machine.

:func:`compare` normalises two processed introspection data dicts into components keyed by
stable identity (:mod:`.view`, :mod:`.devices`), classifies the differences as added,
removed or changed (:mod:`.diff`) and says it in one line (:mod:`.summary`). Pure: no I/O.
"""

from __future__ import annotations

from metalscope.hardware.comparison import HardwareDiff, compare
from metalscope.hardware.summary import UNCHANGED
from metalscope.hardware.view import CATEGORIES, DEFAULT_CPU_FLAGS

__all__ = ["CATEGORIES", "DEFAULT_CPU_FLAGS", "UNCHANGED", "HardwareDiff", "compare"]
