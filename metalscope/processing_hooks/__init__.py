"""Processing hooks: one module per hook, registered as ``metalscope.processing_hooks`` entry
points."""
