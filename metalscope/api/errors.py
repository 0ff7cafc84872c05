"""Exception-to-response mapping: one table, looked up along the exception's MRO.

Every error leaves as ``{"error": {"message": ...}}``; nothing leaves as a traceback. An
unexpected exception is a 500 (``middleware/unexpected_errors.py``) whose message names the
exception class and text only when ``[DEFAULT]debug`` is on (spec 2.1). ``OPTIONS`` on a
known URL is answered with 200 and the ``Allow`` header, as upstream's web framework does.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response
from starlette.routing import Match

from metalscope import errors
from metalscope.api.responses import error_response

NOT_FOUND_MESSAGE = ("404 Not Found: The requested URL was not found on the server. If you "
                     "entered the URL manually please check your spelling and try again.")
METHOD_NOT_ALLOWED_MESSAGE = ("405 Method Not Allowed: The method is not allowed for the "
                              "requested URL.")

STATUS_BY_ERROR: dict[type[BaseException], int] = {
    errors.MetalScopeError: 400,
    errors.NotFound: 404,
    errors.Conflict: 409,
    errors.StateConflict: 409,
    errors.ServiceUnavailable: 503,
    errors.NotAuthenticated: 401,
    errors.AccessDenied: 403,
    errors.ConfigurationError: 500,
    errors.UnexpectedProcessingError: 500,
}


class RequestTooLarge(errors.MetalScopeError):
    """The request body is larger than the configured limit (413)."""


class RequestTimedOut(errors.MetalScopeError):
    """The request body did not arrive in time (408)."""


STATUS_BY_ERROR[RequestTooLarge] = 413
STATUS_BY_ERROR[RequestTimedOut] = 408


def status_for(exc: BaseException) -> int:
    for cls in type(exc).__mro__:
        if cls in STATUS_BY_ERROR:
            return STATUS_BY_ERROR[cls]
    return 500


HTTP_METHODS = ("DELETE", "GET", "HEAD", "PATCH", "POST", "PUT")


def allowed_methods(request: Request) -> str:
    """Every method some route accepts for this path, for the ``Allow`` header.

    The router's own 405 names only the methods of the first route matching the path, and
    ``GET`` and ``POST /v1/introspection/{node_id}`` are two routes: each method is tried.
    ``OPTIONS`` is allowed wherever another method is.
    """
    routes = request.app.router.routes
    methods = [method for method in HTTP_METHODS
               if any(route.matches(dict(request.scope, method=method))[0] is Match.FULL
                      for route in routes)]
    return ", ".join(sorted([*methods, "OPTIONS"])) if methods else ""


def options_response(allow: str) -> Response:
    """The answer to ``OPTIONS`` on a known URL: 200, no body, what is allowed there."""
    return Response(b"", media_type="text/html; charset=utf-8", headers={"Allow": allow})


def install_error_handlers(app: FastAPI) -> None:
    """Domain, HTTP and validation errors; unexpected ones are ``UnexpectedErrorMiddleware``'s."""
    async def domain_error(_request: Request, exc: Exception) -> Response:
        # An error may ask for headers (Retry-After on a 503 the client should retry).
        return error_response(status_for(exc), str(exc), headers=getattr(exc, "headers", None))

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        if exc.status_code == 404:
            return error_response(404, NOT_FOUND_MESSAGE)
        if exc.status_code == 405:
            allow = allowed_methods(request)
            if request.method == "OPTIONS" and allow:
                return options_response(allow)
            return error_response(405, METHOD_NOT_ALLOWED_MESSAGE, headers={"Allow": allow})
        headers = dict(exc.headers) if exc.headers is not None else None
        return error_response(exc.status_code, str(exc.detail), headers=headers)

    async def validation_error(_request: Request, exc: Exception) -> Response:
        return error_response(400, f"Bad request: {exc}")

    app.add_exception_handler(errors.MetalScopeError, domain_error)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(RequestValidationError, validation_error)
