"""Who is calling: a gateway API key when keys are configured, else the role header (trusted
network mode)."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping

import attrs

from keeptrust.context import RequestContext
from keeptrust.errors import AuthenticationError


@attrs.frozen
class GatewayKey:
    key_id: str
    role: str | None


class Authenticator:
    """``keys`` maps the SHA-256 hex digest of each key to its id and role: keys are looked up by
    their hash, so no secret is compared character by character."""

    def __init__(self, keys: Mapping[str, GatewayKey], role_header: str) -> None:
        self.keys = dict(keys)
        self.role_header = role_header.lower().encode()

    def lookup(self, presented: str) -> GatewayKey | None:
        return self.keys.get(hashlib.sha256(presented.encode()).hexdigest())

    def authenticate(self, ctx: RequestContext, headers: Mapping[bytes, bytes]) -> None:
        """Set ``ctx.key_id`` and ``ctx.role``, or raise 401 when a key is required and missing."""
        if self.keys:
            presented = headers.get(b"authorization", b"")
            token = presented[7:].strip() if presented[:7].lower() == b"bearer " else headers.get(b"x-api-key", b"")
            key = self.lookup(token.decode("latin-1")) if token else None
            if key is None:
                raise AuthenticationError(
                    "a valid gateway API key is required (Authorization: Bearer <key>, or x-api-key: <key>)"
                )
            ctx.key_id = key.key_id
            ctx.role = key.role
        else:
            role = headers.get(self.role_header)
            if role:
                ctx.role = role.decode("latin-1")[:64]
