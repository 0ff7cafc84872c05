"""The fleet: one line of hardware facts per node, for the fleet pages.

:mod:`.summary` reads processed introspection data into a :class:`HardwareSummary`;
:mod:`.query` holds what a fleet page asks for (search, state filter, sort, page) and what it
gets back. Pure: the rows are stored and paged by ``metalscope.storage.fleet``.
"""
