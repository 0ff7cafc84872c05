"""Pure ASGI middlewares, one per module; ``app.py`` composes them in upstream's order."""
