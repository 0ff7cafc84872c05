"""Hardware drift events: what changed since a node's previous inspection, told to notifiers."""
