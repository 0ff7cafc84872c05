"""ironic-inspector's own command names, for systemd units and deployment roles that run them.

One module per command, each with ``main(argv=None) -> int`` (the console-script target
``metalscope.cli.upstream.<module>:main``, installed by the separate distribution
``metalscope-ironic-inspector-commands`` so that upstream's scripts are never overwritten):

* ``ironic-inspector`` (:mod:`.inspector`): the all-in-one service;
* ``ironic-inspector-conductor`` (:mod:`.conductor`), ``ironic-inspector-api-wsgi``
  (:mod:`.api_wsgi`): the split roles;
* ``ironic-inspector-dbsync`` (:mod:`.dbsync`): the database schema;
* ``ironic-inspector-status upgrade check`` (:mod:`.status`): the upgrade checks;
* ``ironic-inspector-migrate-data`` (:mod:`.migrate_data`): introspection data between stores.

Arguments are parsed by oslo.config as upstream parses them (:mod:`.command_line`), with the
default configuration places of project ``ironic-inspector``.
"""
