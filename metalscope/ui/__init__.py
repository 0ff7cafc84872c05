"""The read-only fleet pages: view models, templates and static files, without a web framework.

``fleet_view.py`` turns a page of the fleet into what the fleet table shows, ``node_view.py``
one node's hardware grouped by category, ``diff_view.py`` its history and a side-by-side
diff of two versions; ``rendering.py`` holds the Jinja2 environment (autoescaped templates
shipped in the package) and ``origin.py`` the same-origin check of the login form's posts.
The routes are ``metalscope/api/ui.py``.
"""
