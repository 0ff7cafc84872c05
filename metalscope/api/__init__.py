"""The HTTP layer: routes, version negotiation, error mapping, authentication."""
