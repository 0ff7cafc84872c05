"""Out-of-band inspection over Redfish: what a node's BMC says about its hardware.

``credentials.py`` reads the BMC address and credentials from the Ironic node's
``driver_info``; ``reader.py`` reads the Redfish documents through sushy (synchronous, run in a
worker thread); ``inventory.py`` maps those documents to the data a ramdisk posts (spec 6),
pure; ``collector.py`` puts the three together. Failures are :class:`~.errors.RedfishError`.
"""
