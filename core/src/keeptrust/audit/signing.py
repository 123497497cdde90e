"""Keyed chain heads and anchors: HMAC-SHA-256 over their canonical JSON.

The hash chain alone proves a log unedited *relative to its head*; anyone who can write the files can
rewrite a whole chain, recompute every hash and write a matching head. With ``signing_key_ref`` the
gateway signs every durable head and every retention anchor with a key the attacker does not hold,
so ``kt audit verify --key-env NAME`` detects such a rewrite.

A signed object carries ``sig``::

    "sig": {"alg": "hmac-sha256", "key_id": "k-3f1c0e9a2b7d4c11", "mac": "<64 hex>"}

``mac`` is HMAC-SHA-256 with the key over the object's canonical JSON without ``sig`` (keys sorted, no
spaces, UTF-8). ``key_id`` names the key (by default a fingerprint of it: the first 16 hex digits of
SHA-256 over ``keeptrust-audit-key:`` + key), so a verifier given several keys (old and new, during a
rotation) picks the right one, and a head signed with an unknown key is reported as such.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable, Mapping
from typing import Any

import attrs

from keeptrust.audit.hashchain import canonical

ALG = "hmac-sha256"
# A key shorter than this is refused: HMAC is only as strong as its key.
MIN_KEY_BYTES = 16


def key_id_of(key: bytes) -> str:
    """The default id of a key: a fingerprint that says which key signed, never the key itself."""
    return "k-" + hashlib.sha256(b"keeptrust-audit-key:" + key).hexdigest()[:16]


@attrs.frozen(repr=False)
class SigningKey:
    key: bytes
    key_id: str

    def __repr__(self) -> str:
        return f"<SigningKey {self.key_id}>"

    @classmethod
    def from_secret(cls, secret: str, key_id: str | None = None) -> SigningKey:
        key = secret.encode("utf-8")
        return cls(key, key_id or key_id_of(key))

    def mac(self, payload: Mapping[str, Any]) -> str:
        body = {k: v for k, v in payload.items() if k != "sig"}
        return hmac.new(self.key, canonical(body), hashlib.sha256).hexdigest()

    def sign(self, payload: dict[str, Any]) -> dict[str, Any]:
        """``payload`` with its ``sig`` (replacing any previous one)."""
        payload["sig"] = {"alg": ALG, "key_id": self.key_id, "mac": self.mac(payload)}
        return payload


def key_problem(secret: str | None, where: str) -> str | None:
    """Why ``secret`` cannot be a signing key, or None."""
    if not secret:
        return f"{where} is not set"
    if len(secret.encode("utf-8")) < MIN_KEY_BYTES:
        return (
            f"{where} is too short for a signing key (at least {MIN_KEY_BYTES} bytes; "
            "make one with e.g. `openssl rand -hex 32`)"
        )
    return None


class Keyring:
    """The keys a verifier accepts, by key id."""

    def __init__(self, keys: Iterable[SigningKey] = ()) -> None:
        self.keys = {k.key_id: k for k in keys}

    def __bool__(self) -> bool:
        return bool(self.keys)

    def problem(self, payload: Mapping[str, Any] | None, what: str) -> str | None:
        """Why ``payload``'s signature does not prove it came from a holder of one of the keys, or None."""
        if payload is None:
            return None
        sig = payload.get("sig")
        if not isinstance(sig, dict):
            return f"{what} is not signed — written without the key, or by someone who does not hold it"
        if sig.get("alg") != ALG:
            return f"{what} is signed with {sig.get('alg')!r}, not {ALG}"
        key = self.keys.get(str(sig.get("key_id")))
        if key is None:
            known = ", ".join(sorted(self.keys))
            return f"{what} is signed with key {sig.get('key_id')!r}, not one given ({known})"
        if not hmac.compare_digest(str(sig.get("mac")), key.mac(payload)):
            return f"{what}: forged — its signature does not match its content (key {key.key_id})"
        return None
