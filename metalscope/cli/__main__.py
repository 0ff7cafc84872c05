"""``python -m metalscope.cli``: the ``metalscope`` command."""

from __future__ import annotations

import sys

from metalscope.cli import main

sys.exit(main())
