"""Model names as clients and configs write them, validated before any URL is built from them.

Forms: ``huggingface/{backend}/{org}/{name}`` (Bifrost style) and
``{org}/{name}[:{backend}|:fastest|:cheapest|:preferred]`` (router style). Repo ids follow
huggingface_hub's ``validate_repo_id`` rules (``huggingface_hub.utils._validators``): ASCII word characters, ``.``
and ``-``, one ``/``, no ``..`` or ``--``, at most 96 characters per part.
"""

from __future__ import annotations

import re
from collections.abc import Container

import attrs

_PART = re.compile(r"[A-Za-z0-9_.-]{1,96}")
_SUFFIX = re.compile(r"[a-z0-9][a-z0-9-]{0,63}")
# Router selection policies (hub-docs index.md "Provider Selection"). ``auto`` is rejected by the
# router (400 model_not_supported, bifrost #1381), so it is never sent: it means "no suffix".
POLICIES = frozenset({"fastest", "cheapest", "preferred"})

# Names other gateways use for the same backends (LiteLLM's and Bifrost's docs) → router names.
BACKEND_ALIASES = {
    "fireworks": "fireworks-ai",
    "featherless": "featherless-ai",
    "ovhcloud-ai-endpoints": "ovhcloud",
    "public-ai": "publicai",
    "z-ai": "zai-org",
    "zai": "zai-org",
    "fal": "fal-ai",
}


# A backend's own model id (``fal-ai/flux/dev``, ``llama-3.1-70b-instruct``,
# ``accounts/fireworks/models/x``): path-safe characters only, no empty or ``..`` segment.
_PROVIDER_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:@+-]*(/[A-Za-z0-9_.:@+-]+)*")


@attrs.frozen
class ModelRef:
    """A parsed model name: the Hub repo id plus a backend or a router policy (at most one).

    ``native`` marks a name that is the backend's own model id rather than a Hub repo
    (``huggingface/fal-ai/fal-ai/flux/dev``): it is sent to the backend as written, without a
    mapping lookup. ``hub_model`` then holds that id."""

    hub_model: str
    backend: str | None = None
    policy: str | None = None
    native: bool = False

    def router_model(self) -> str:
        """The ``model`` for the router's OpenAI-compatible endpoint (or, for a backend's own id,
        the ``huggingface/{backend}/{id}`` name that parses back to this reference)."""
        if self.native:
            return f"huggingface/{self.backend}/{self.hub_model}"
        suffix = self.backend or self.policy
        return f"{self.hub_model}:{suffix}" if suffix else self.hub_model


def is_provider_id(value: str) -> bool:
    """True for a backend model id safe to put in a URL path."""
    return len(value) <= 200 and bool(_PROVIDER_ID.fullmatch(value)) and ".." not in value


def is_repo_id(value: str) -> bool:
    """True for ``org/name`` that huggingface_hub would accept as a repo id."""
    parts = value.split("/")
    if len(parts) != 2:
        return False
    for part in parts:
        if (
            not _PART.fullmatch(part)
            or ".." in part
            or "--" in part
            or part.startswith(("-", "."))
            or part.endswith(("-", "."))
        ):
            return False
    return True


def canonical_backend(name: str) -> str:
    return BACKEND_ALIASES.get(name, name)


def parse_model(value: str, backends: Container[str] = ()) -> ModelRef | None:
    """Parse a client's model name; ``None`` when it is not a valid Hugging Face model name.

    ``backends`` are the backend names the caller knows: in ``huggingface/{backend}/{id}`` a first
    segment naming one of them is the backend, and ``{id}`` is a Hub repo or, when it is not one
    (``fal-ai/flux/dev``, ``llama-3.1-70b-instruct``), the backend's own model id."""
    if not value or len(value) > 300 or "://" in value:
        return None
    if value.startswith("huggingface/"):
        rest = value[len("huggingface/") :]
        parts = rest.split("/")
        head = canonical_backend(parts[0])
        if len(parts) >= 2 and head in backends:
            model = "/".join(parts[1:])
            if is_repo_id(model):
                return ModelRef(model, backend=head)
            return ModelRef(model, backend=head, native=True) if is_provider_id(model) else None
        if len(parts) == 2:
            repo = rest
            if not is_repo_id(repo):
                return None
            return ModelRef(repo)
        if len(parts) != 3 or not _SUFFIX.fullmatch(parts[0]):
            return None
        repo = "/".join(parts[1:])
        if not is_repo_id(repo):
            return None
        return _with_suffix(repo, parts[0])
    repo, sep, suffix = value.partition(":")
    if not is_repo_id(repo):
        return None
    if not sep:
        return ModelRef(repo)
    if not _SUFFIX.fullmatch(suffix):
        return None
    return _with_suffix(repo, suffix)


def _with_suffix(repo: str, suffix: str) -> ModelRef:
    if suffix == "auto":
        return ModelRef(repo)
    if suffix in POLICIES:
        return ModelRef(repo, policy=suffix)
    return ModelRef(repo, backend=canonical_backend(suffix))
