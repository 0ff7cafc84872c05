"""MetalScope: hardware introspection for bare metal, API-compatible with ironic-inspector."""

__version__ = "0.1.0"
