"""Every error the gateway can answer with, each mapped to one OpenAI error type and HTTP status.

    GatewayError
    ├── ConfigError                 the policy-config file is wrong; the gateway refuses to start
    ├── PluginError                 a plugin failed to load or registered something twice
    ├── RequestError (400)          the client's request is malformed
    │   ├── BodyTooLarge (413)
    │   ├── BodyTimeout (408)
    │   ├── UnsupportedMediaType (415)
    │   ├── UnsupportedOperation (400)
    │   └── HeadersTooLarge (431)
    ├── AuthenticationError (401)
    ├── PermissionDenied (403)
    ├── NotFound (404)
    │   └── ModelNotFound (404)
    ├── MethodNotAllowed (405)
    ├── PolicyViolation (400)      a policy blocked the request or the answer
    ├── RateLimited (429)           upstream or gateway limit; carries Retry-After
    ├── UpstreamError (502)         the upstream answered something unusable, or could not be reached
    │   ├── UpstreamUnavailable (503)
    │   └── UpstreamTimeout (504)
    └── InternalError (500)

Messages never contain secrets or the text a policy objected to: callers build them from names,
counts and categories only.

Public module: plugins import it; the names in ``__all__`` are its API.
"""

from __future__ import annotations

from typing import Any

import orjson


class GatewayError(Exception):
    """Base class. ``status``/``error_type``/``code`` shape the OpenAI error body."""

    status: int = 500
    error_type: str = "server_error"
    code: str | None = None

    def __init__(
        self,
        message: str,
        *,
        param: str | None = None,
        code: str | None = None,
        status: int | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.param = param
        if code is not None:
            self.code = code
        if status is not None:
            self.status = status
        self.headers = headers or {}

    def to_dict(self) -> dict[str, Any]:
        return {
            "error": {
                "message": self.message,
                "type": self.error_type,
                "param": self.param,
                "code": self.code,
            }
        }

    def body(self) -> bytes:
        return orjson.dumps(self.to_dict())


class ConfigError(GatewayError):
    """The configuration cannot be used. ``errors`` holds one line per problem, each naming a path."""

    def __init__(self, errors: list[str] | str) -> None:
        self.errors = [errors] if isinstance(errors, str) else list(errors)
        super().__init__("\n".join(self.errors), code="config_error")


class PluginError(GatewayError):
    """A plugin could not be loaded or registered a name another plugin already holds."""


class RequestError(GatewayError):
    """The request is malformed: bad JSON, wrong types, missing fields."""

    status = 400
    error_type = "invalid_request_error"
    code = "invalid_request"


class BodyTooLarge(RequestError):
    """The body is over ``server.max_body_bytes``; reading stopped at the limit."""

    status = 413
    code = "request_too_large"


class BodyTimeout(RequestError):
    """The client did not send the whole body within ``server.body_timeout_seconds``."""

    status = 408
    code = "request_timeout"


class UnsupportedMediaType(RequestError):
    """The Content-Type is not one the endpoint reads."""

    status = 415
    code = "unsupported_media_type"


class HeadersTooLarge(RequestError):
    """Request headers are over ``server.max_header_bytes`` or ``server.max_header_count``."""

    status = 431
    code = "headers_too_large"


class UnsupportedOperation(RequestError):
    """The chosen target or backend cannot perform this operation."""

    code = "unsupported_operation"


class AuthenticationError(GatewayError):
    """No valid gateway key, or the upstream rejected the gateway's credentials."""

    status = 401
    error_type = "authentication_error"
    code = "invalid_api_key"


class PermissionDenied(GatewayError):
    """The upstream refused access (e.g. a gated model whose licence was not accepted)."""

    status = 403
    error_type = "permission_error"
    code = "permission_denied"


class NotFound(GatewayError):
    """No such route."""

    status = 404
    error_type = "invalid_request_error"
    code = "not_found"


class ModelNotFound(NotFound):
    """The request's ``model`` names no configured target and no open target accepts it."""

    code = "model_not_found"


class MethodNotAllowed(GatewayError):
    """The route exists but not for this HTTP method."""

    status = 405
    error_type = "invalid_request_error"
    code = "method_not_allowed"


class PolicyViolation(GatewayError):
    """A policy blocked the request or the answer. ``param`` is the policy name."""

    status = 400
    error_type = "invalid_request_error"
    code = "policy_violation"


class RateLimited(GatewayError):
    """Too many requests (upstream 429, or a gateway limit). ``Retry-After`` is passed on."""

    status = 429
    error_type = "rate_limit_error"
    code = "rate_limit_exceeded"


class PolicyTimeout(GatewayError):
    """A policy did not decide within its ``timeout_ms`` and its ``on_timeout`` is ``block``."""

    status = 503
    error_type = "server_error"
    code = "policy_timeout"


class UpstreamError(GatewayError):
    """The upstream could not be reached or answered something the gateway cannot use."""

    status = 502
    error_type = "upstream_error"
    code = "bad_gateway"


class UpstreamUnavailable(UpstreamError):
    """The upstream is loading or overloaded and did not come up within the target's budget."""

    status = 503
    code = "model_loading"


class UpstreamTimeout(UpstreamError):
    """The upstream did not answer within the target's timeout."""

    status = 504
    code = "upstream_timeout"


class InternalError(GatewayError):
    """A bug in the gateway or a plugin; details go to the log, never to the client."""

    status = 500
    code = "internal_error"


def leaf_errors(exc: BaseException) -> list[BaseException]:
    """The exceptions inside (nested) exception groups, which trio's nurseries wrap failures in."""
    if isinstance(exc, BaseExceptionGroup):
        return [leaf for sub in exc.exceptions for leaf in leaf_errors(sub)]
    return [exc]


__all__ = [
    "AuthenticationError",
    "BodyTimeout",
    "BodyTooLarge",
    "ConfigError",
    "GatewayError",
    "HeadersTooLarge",
    "InternalError",
    "MethodNotAllowed",
    "ModelNotFound",
    "NotFound",
    "PermissionDenied",
    "PluginError",
    "PolicyTimeout",
    "PolicyViolation",
    "RateLimited",
    "RequestError",
    "UnsupportedMediaType",
    "UnsupportedOperation",
    "UpstreamError",
    "UpstreamTimeout",
    "UpstreamUnavailable",
    "leaf_errors",
]
