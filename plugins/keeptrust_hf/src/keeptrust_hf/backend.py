"""The backend spec: what one Inference Providers backend (groq, together, hf-inference, fal-ai, ...)
is, as data, plus the one method where backends really differ.

A backend is registered through the ``register_hf_backends`` hook (``hookspecs.py``). The provider
(``provider.py``) resolves the Hub model to the backend's own id with the mapping API, builds a
``BackendCall`` and awaits ``backend.execute(call)``. The default ``execute`` speaks the
OpenAI-compatible dialect most backends share, driven by the class attributes below; a backend with
another wire format (hf-inference pipelines, replicate predictions, fal queues) overrides the
method for the operations that differ. BACKEND_API.md is the guide for backend authors.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar

import attrs
import httpx

from keeptrust import context as ops
from keeptrust.downloads import Downloader
from keeptrust.errors import UnsupportedOperation

if TYPE_CHECKING:
    import logging

    from keeptrust.context import RequestContext
    from keeptrust.results import Result
    from keeptrust.transport import Upstream
    from keeptrust_hf.mapping import MappingEntry

# Hub task names (the ``task`` of a mapping entry) for each keeptrust operation, as the official
# clients use them (huggingface_hub inference/_providers/__init__.py).
CONVERSATIONAL = "conversational"
FEATURE_EXTRACTION = "feature-extraction"
TEXT_TO_IMAGE = "text-to-image"
IMAGE_TO_IMAGE = "image-to-image"
TEXT_TO_SPEECH = "text-to-speech"
SPEECH_RECOGNITION = "automatic-speech-recognition"

DEFAULT_TASKS: Mapping[str, str] = {
    ops.CHAT: CONVERSATIONAL,
    ops.EMBEDDINGS: FEATURE_EXTRACTION,
    ops.IMAGES: TEXT_TO_IMAGE,
    ops.IMAGE_EDIT: IMAGE_TO_IMAGE,
    ops.SPEECH: TEXT_TO_SPEECH,
    ops.TRANSCRIPTION: SPEECH_RECOGNITION,
}

# ``response_format`` dialects for chat (huggingface_hub _providers/*.py): how an OpenAI
# ``{"type": "json_schema", "json_schema": {"schema": S}}`` must be rewritten per backend.
RF_OPENAI = "openai"  # passed unchanged
RF_JSON_OBJECT_SCHEMA = "json_object+schema"  # cohere, fireworks-ai: {"type": "json_object", "schema": S}
RF_FLAT_JSON_SCHEMA = "flat_json_schema"  # together: {"type": "json_schema", "schema": S}
RF_TGI = "tgi"  # hf-inference / TGI grammar: {"type": "json_object", "value": S}
RF_GUIDED_JSON = "guided_json"  # nebius: response_format kept, plus a top-level ``guided_json: S``
RF_NON_STRICT = "non_strict"  # sambanova: json_schema kept with ``strict: false``


@attrs.frozen(kw_only=True)
class BackendCall:
    """Everything a backend needs for one request.

    ``hub_model`` is the Hub repo id the client asked for (``black-forest-labs/FLUX.1-dev``);
    ``provider_model`` is the backend's own id from the mapping entry (``fal-ai/flux/dev``), equal
    to ``hub_model`` for backends that take Hub ids (hf-inference). ``mapping`` is the whole entry
    (task, status, adapter, adapterWeightsPath), ``None`` when no mapping was needed.

    ``base_url`` already includes the router prefix (``{router}/{backend}``) or is the backend's
    direct base URL (provider key, not an ``hf_`` token); routes are appended to it with ``url``.
    ``headers`` must be sent on every upstream request (``X-HF-Bill-To``, the backend's own headers,
    and for direct calls the backend's auth header). ``upstream`` is the target's pooled transport:
    retries, cold-start 503 waits and error mapping are done there. ``downloads`` fetches result URLs
    (a CDN image, audio) without credentials, from public addresses only and within the size limit
    (``keeptrust.downloads``).
    """

    ctx: RequestContext
    operation: str
    hub_model: str
    provider_model: str
    mapping: MappingEntry | None
    base_url: str
    via_router: bool
    upstream: Upstream
    headers: Mapping[str, str]
    downloads: Downloader
    logger: logging.Logger
    timeout: float
    poll_interval: float = 0.5
    # The target's ``backend_options`` (checked by ``Backend.check_options`` at start-up).
    options: Mapping[str, Any] = attrs.Factory(dict)

    async def download(self, url: str) -> tuple[bytes, str]:
        """A result's bytes and media type: a data URI decoded, an http(s) URL fetched by ``downloads``."""
        if url.startswith("data:"):
            from keeptrust_hf.media import decode_data_uri

            return decode_data_uri(url)
        return await self.downloads.fetch(url)

    @property
    def body(self) -> dict[str, Any]:
        """The OpenAI request body, as the policies left it."""
        return self.ctx.body

    def url(self, route: str) -> str:
        """``base_url`` + ``route``. Routes containing the provider model go through
        ``quote_path`` first (ids were validated, but a URL is never built from raw text)."""
        return self.base_url.rstrip("/") + route

    def with_router_host(self, absolute: str) -> str:
        """Re-host the path (and query) of an absolute URL an async backend returned on this call's
        base URL, so polling goes through the router with the same credentials (what the official
        clients do for wavespeed and fal queues)."""
        parsed = httpx.URL(absolute)
        tail = parsed.raw_path.decode("ascii")
        base = httpx.URL(self.base_url)
        prefix = base.raw_path.decode("ascii").rstrip("/") if self.via_router else ""
        return str(base.copy_with(raw_path=(prefix + tail).encode("ascii")))


def quote_path(value: str) -> str:
    """Percent-encode a model id for use in a URL path, keeping its ``/`` separators."""
    from urllib.parse import quote

    return quote(value, safe="/:")


class Backend:
    """One Inference Providers backend. Subclass, set the data attributes, register the class.

    Data (class attributes):

    - ``name``: the provider name of the Hub mapping API and of router paths (``together``);
    - ``operations``: keeptrust operations (``keeptrust.context`` constants) it performs;
      ``RESPONSES`` need not be listed: the provider translates it to ``CHAT``;
    - ``tasks``: the Hub task of the mapping entry for each operation (defaults: ``DEFAULT_TASKS``);
    - ``direct_base_url``: the backend's own API root, used with a provider key instead of an
      ``hf_`` token (``None``: router only);
    - ``routes``: operation → path appended to the base URL (``{model}`` is replaced by the quoted
      provider model);
    - ``chat_stream``: whether chat streaming is supported;
    - ``param_maps``: operation → {OpenAI request key: backend key, or ``None`` to drop it};
    - ``response_format_style``: one of the ``RF_*`` dialects;
    - ``headers``: extra headers sent on every request (zai-org's ``x-source-channel``);
    - ``direct_auth_scheme``: ``Bearer`` or e.g. ``Key`` (fal) for direct calls;
    - ``max_upload_bytes``: the largest file the backend accepts (413 above it).
    """

    name: ClassVar[str]
    operations: ClassVar[frozenset[str]] = frozenset()
    tasks: ClassVar[Mapping[str, str]] = DEFAULT_TASKS
    direct_base_url: ClassVar[str | None] = None
    routes: ClassVar[Mapping[str, str]] = {}
    chat_stream: ClassVar[bool] = True
    param_maps: ClassVar[Mapping[str, Mapping[str, str | None]]] = {}
    response_format_style: ClassVar[str] = RF_OPENAI
    headers: ClassVar[Mapping[str, str]] = {}
    direct_auth_scheme: ClassVar[str] = "Bearer"
    max_upload_bytes: ClassVar[int | None] = 2_000_000
    # False for backends the router no longer serves (nebius, sambanova, hyperbolic since 2026):
    # reachable only with the provider's own key (a target's ``direct``).
    served_by_router: ClassVar[bool] = True

    @classmethod
    def check_options(cls, options: Mapping[str, Any]) -> None:
        """Validate a target's ``backend_options`` at start-up; raise ``ValueError`` naming the key
        and what was expected. The default accepts none."""
        if options:
            raise ValueError(f"the backend '{cls.name}' takes no options; got {', '.join(sorted(options))}")

    def supports(self, operation: str) -> bool:
        if operation == ops.RESPONSES:
            return ops.CHAT in self.operations
        return operation in self.operations

    def task_for(self, operation: str) -> str | None:
        if operation == ops.RESPONSES:
            operation = ops.CHAT
        return self.tasks.get(operation)

    def route(self, operation: str, provider_model: str) -> str:
        template = self.routes.get(operation)
        if template is None:
            raise self.unsupported(operation)
        return template.replace("{model}", quote_path(provider_model))

    def unsupported(self, operation: str) -> UnsupportedOperation:
        return UnsupportedOperation(
            f"the Hugging Face backend '{self.name}' does not support {operation}", param="model"
        )

    def map_params(self, operation: str, payload: dict[str, Any]) -> dict[str, Any]:
        """Rename or drop request keys per ``param_maps[operation]`` (in place; returned)."""
        for src, dst in self.param_maps.get(operation, {}).items():
            if src not in payload:
                continue
            value = payload.pop(src)
            if dst is not None and value is not None:
                payload[dst] = value
        return payload

    async def execute(self, call: BackendCall) -> Result:
        """Perform ``call.operation``. The default speaks the OpenAI-compatible dialect
        (``keeptrust_hf.backends.openai_style``); override for other wire formats and call
        ``super().execute(call)`` for the operations that stay OpenAI-like."""
        from keeptrust_hf.backends import openai_style

        if not self.supports(call.operation):
            raise self.unsupported(call.operation)
        return await openai_style.execute(self, call)
