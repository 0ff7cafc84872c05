"""Following Ironic's own inspections (Ironic 33 and later, API 1.81): each inventory
Ironic records becomes a version of the node's history, with the same diff, drift events,
rules, metrics and fleet pages as MetalScope's own inspections.

``convert.py`` Ironic's inventory as MetalScope's data; ``scan.py`` the decisions over a
page of Ironic's node list; ``backoff.py`` failures and waits; ``poll.py`` one poll round;
``record.py`` an inventory recorded as a version; ``actions.py`` rule edits sent to Ironic
as traits, ``extra`` and maintenance only; ``runner.py`` the poll repeated with back-off.
"""
