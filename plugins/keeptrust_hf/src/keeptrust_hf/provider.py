"""Provider family ``huggingface``: one instance per target.

Three ways to reach a model:

- ``base_url`` ending in ``/v1`` (Dedicated Endpoint, TGI, vLLM): the OpenAI-compatible Messages
  API, with no mapping lookups on the request path — the fast path the benchmark measures;
- ``base_url`` without ``/v1`` and ``format: huggingface``: TGI's native or a pipeline's API
  (``native.py``);
- no ``base_url``: the Inference Providers router — chat without a backend goes to its
  OpenAI-compatible ``/v1/chat/completions`` (the router picks), everything else to the chosen
  backend's own route with the backend's model id from the Hub mapping API.
"""

from __future__ import annotations

from typing import Any

import httpx

from keeptrust import context as ops
from keeptrust.context import RequestContext
from keeptrust.distributions import install_command
from keeptrust.downloads import Downloader
from keeptrust.errors import ConfigError, ModelNotFound, NotFound, PermissionDenied, RequestError, UpstreamError
from keeptrust.openai_compat import chat_completion
from keeptrust.provider import Provider, ProviderEnv
from keeptrust.results import Result
from keeptrust_hf import config as hfconfig
from keeptrust_hf.backend import Backend, BackendCall
from keeptrust_hf.backends import KNOWN_ELSEWHERE, RETIRED, backend_names, collect_backends
from keeptrust_hf.config import HFTarget, direct_access
from keeptrust_hf.mapping import MappingCache, MappingEntry
from keeptrust_hf.model_ids import BACKEND_ALIASES, ModelRef, canonical_backend, is_repo_id, parse_model
from keeptrust_hf.retry import COLD_START_RETRY

ROUTER = "router"
MESSAGES = "messages"
NATIVE = "native"


class HuggingFaceProvider(Provider):
    name = "huggingface"
    config_class = HFTarget
    operations = frozenset(
        {ops.CHAT, ops.EMBEDDINGS, ops.RESPONSES, ops.IMAGES, ops.IMAGE_EDIT, ops.SPEECH, ops.TRANSCRIPTION}
    )
    expand_shorthand = staticmethod(hfconfig.expand_shorthand)
    retry_policy = COLD_START_RETRY

    @classmethod
    def auth_header(cls, config: HFTarget, secret: Any) -> dict[str, str]:
        """The default ``Authorization`` of the target's transport. A backend's own key (not an
        ``hf_`` token) must never reach the Hub or the router: it is added per request, only to
        that backend's own host (huggingface_hub ``_prepare_base_url``)."""
        if secret is None:
            return {}
        token = secret.reveal()
        if not config.base_url and not token.startswith("hf_"):
            return {}
        return {"authorization": f"Bearer {token}"}

    def __init__(self, config: HFTarget, env: ProviderEnv) -> None:
        config = hfconfig.expand_base_url(config)
        super().__init__(config, env)
        self.config: HFTarget = config
        # The registry collects the backend classes once per gateway: no module-level state.
        self.backends: dict[str, Backend] = collect_backends(env.registry)
        self.logger = env.logger.getChild(config.id)
        self.mode = _mode(config)
        self.router = hfconfig.router_url()
        self.mapping = MappingCache(env.upstream, hfconfig.hub_url(), config.mapping_ttl_seconds)
        self.secret = env.secret
        self.known_backends = (
            frozenset(self.backends) | frozenset(KNOWN_ELSEWHERE) | RETIRED | frozenset(BACKEND_ALIASES)
        )
        self.backend: Backend | None = None
        if config.backend is not None:
            if self.mode != ROUTER:
                raise ConfigError(
                    f"target '{config.id}': 'backend' selects an Inference Providers backend and "
                    "cannot be combined with base_url"
                )
            self.backend = self._lookup_backend(canonical_backend(config.backend), ConfigError)
        if config.model is not None and self.mode == ROUTER and not is_repo_id(config.model):
            # A backend's own id is fine on a target bound to that backend (a fal app, a nebius model).
            from keeptrust_hf.model_ids import is_provider_id

            if self.backend is None or not is_provider_id(config.model):
                raise ConfigError(
                    f"target '{config.id}': model {config.model!r} is not a Hugging Face repo id (org/name)"
                    + ("" if self.backend is None else f" nor a valid '{self.backend.name}' model id")
                )
        self.direct_key, self.direct_base = direct_access(config, self.backend, env)
        if self.backend is not None and not self.backend.served_by_router and self.mode == ROUTER:
            token = env.secret.reveal() if env.secret else ""
            if self.direct_key is None and (not token or token.startswith("hf_")):
                raise ConfigError(
                    f"target '{config.id}': the Hugging Face backend '{self.backend.name}' is no longer served by "
                    "the Inference Providers router; give the target direct: {secret_key_ref: ...} with your key "
                    f"for '{self.backend.name}'"
                )
        if config.backend_options:
            if self.backend is None:
                raise ConfigError(
                    f"target '{config.id}': backend_options needs 'backend' (the backend that reads them)"
                )
            try:
                self.backend.check_options(config.backend_options)
            except (ValueError, TypeError) as exc:
                raise ConfigError(f"target '{config.id}': backend_options: {exc}") from None
        self.chat_url = ""
        if self.mode == MESSAGES:
            self.chat_url = _messages_root(config.base_url or "") + "/chat/completions"
        self.native: Any = None
        if self.mode == NATIVE:
            from keeptrust_hf.native import NativeEndpoint

            self.native = NativeEndpoint(self, config)
        timeout = httpx.Timeout(config.timeout_seconds, connect=config.connect_timeout_seconds)
        self.downloads = Downloader(config.downloads, timeout=timeout)
        from keeptrust_hf.models_listing import ModelsListing

        self.listing = ModelsListing(config.mapping_ttl_seconds)
        names = backend_names(self.backends)
        self.naming_hint = None
        if config.model is None and self.mode == ROUTER:
            self.naming_hint = (
                f"target '{config.id}' accepts Hugging Face models as "
                f"'org/name[:backend|:fastest|:cheapest]' or 'huggingface/backend/org/name' "
                f"(backends: {names})"
            )

    # ------------------------------------------------------------------ naming
    def _lookup_backend(self, name: str, error: type[Exception] = RequestError) -> Backend:
        backend = self.backends.get(name)
        if backend is not None:
            return backend
        if name in KNOWN_ELSEWHERE:
            dist = KNOWN_ELSEWHERE[name]
            message = (
                f"the Hugging Face backend '{name}' is provided by a separate package: "
                f"install it with `{install_command(dist)}`"
            )
        elif name in RETIRED:
            message = (
                f"the Hugging Face backend '{name}' is no longer served by the Inference Providers router "
                f"(removed in 2026); pick another backend: {backend_names(self.backends)}"
            )
        else:
            message = f"unknown Hugging Face backend '{name}'; registered backends: {backend_names(self.backends)}"
        if error is ConfigError:
            raise ConfigError(f"target '{self.config.id}': {message}")
        raise RequestError(message, param="model", code="unsupported_backend")

    def resolve_model(self, model: str) -> str | None:
        if self.config.model is not None or self.mode != ROUTER:
            return None
        ref = parse_model(model, self.known_backends)
        if ref is None:
            return None
        if (
            ref.backend is not None
            and ref.backend not in self.backends
            and ref.backend not in KNOWN_ELSEWHERE
            and ref.backend not in RETIRED
        ):
            return None
        return ref.router_model()

    def _ref(self, ctx: RequestContext) -> ModelRef:
        if self.config.model is not None:
            backend = self.backend.name if self.backend else None
            return ModelRef(self.config.model, backend, native=not is_repo_id(self.config.model))
        ref = parse_model(ctx.upstream_model or ctx.model or "", self.known_backends)
        if ref is None:
            raise RequestError(
                "the model name is not a valid Hugging Face model id", param="model", code="invalid_model"
            )
        return ref

    def supports(self, operation: str) -> bool:
        if self.mode == ROUTER:
            # The backend (and with it what is possible) may depend on the request's model; execute
            # answers 400 naming backend and operation.
            return operation in self.operations
        return operation in (ops.CHAT, ops.RESPONSES, ops.EMBEDDINGS)

    # ------------------------------------------------------------------ requests
    async def execute(self, ctx: RequestContext) -> Result:
        op = ctx.operation
        if "extra_params" in ctx.body:
            ctx.body = hfconfig.merge_extra_params(ctx.body)
        if self.mode == MESSAGES:
            return await self._messages(ctx)
        if self.mode == NATIVE:
            if op == ops.RESPONSES:
                from keeptrust_hf import responses_api

                return await responses_api.via_chat(self, ctx, self.native.chat)
            return await self.native.execute(ctx)
        ref = self._ref(ctx)
        if op == ops.RESPONSES:
            from keeptrust_hf import responses_api

            return await responses_api.execute(self, ctx, ref)
        if op == ops.CHAT and ref.backend is None:
            return await self.auto_chat(ctx, ref)
        return await self.run_backend(ctx, ref, op)

    async def _messages(self, ctx: RequestContext) -> Result:
        op = ctx.operation
        if op == ops.RESPONSES:
            from keeptrust_hf import responses_api

            return await responses_api.via_chat(self, ctx, self._messages_chat)
        if op == ops.EMBEDDINGS:
            from keeptrust_hf.backends.openai_style import embed

            return await embed(_EndpointBackend(), self._endpoint_call(ctx))
        return await self._messages_chat(ctx)

    async def _messages_chat(self, ctx: RequestContext) -> Result:
        payload = dict(ctx.body)
        payload["model"] = self.config.model or ctx.model or "tgi"
        return await chat_completion(self.upstream, ctx, self.chat_url, payload)

    def _endpoint_call(self, ctx: RequestContext) -> BackendCall:
        model = self.config.model or ctx.model or "tgi"
        return self._call(ctx, ctx.operation, model, model, None, _messages_root(self.config.base_url or ""), True, {})

    def require_hf_token(self, what: str) -> None:
        token = self.secret.reveal() if self.secret else ""
        if token and not token.startswith("hf_"):
            raise RequestError(
                f"{what} is reachable only through the Hugging Face router, which needs a Hugging "
                f"Face token (hf_...); target '{self.config.id}' has a backend's own key",
                param="model",
                code="unsupported_backend",
            )

    async def auto_chat(self, ctx: RequestContext, ref: ModelRef) -> Result:
        """Chat through the router's OpenAI-compatible endpoint; the router picks the backend."""
        self.require_hf_token("choosing the backend automatically")
        payload = {"model": ref.router_model(), **{k: v for k, v in ctx.body.items() if k != "model"}}
        try:
            return await chat_completion(
                self.upstream, ctx, self.router + "/v1/chat/completions", payload, headers=self.router_headers()
            )
        except PermissionDenied as exc:
            raise _gated(ref.hub_model, exc) from None

    def router_headers(self) -> dict[str, str]:
        return {"x-hf-bill-to": self.config.bill_to} if self.config.bill_to else {}

    async def run_backend(self, ctx: RequestContext, ref: ModelRef, op: str) -> Result:
        backend = self._lookup_backend(ref.backend) if ref.backend else None
        if self.direct_key is not None and self.backend is not None:
            if backend is not None and backend is not self.backend:
                raise RequestError(
                    f"target '{self.config.id}' calls the backend '{self.backend.name}' directly with its key; "
                    f"it cannot serve '{backend.name}'",
                    param="model",
                    code="unsupported_backend",
                )
            backend = self.backend
        if backend is not None and not backend.supports(op):
            raise backend.unsupported(op)
        for attempt in (1, 2):
            if ref.native and backend is not None:
                entry = own_id_entry(ref.hub_model, backend, op)
            else:
                entry, backend = await self._entry(ctx, ref.hub_model, backend, op)
            ctx.upstream_model = entry.provider_id
            if not entry.hf_model_id:
                # Audited as such: the name went to the backend as its own id, not through the Hub.
                ctx.extra.setdefault("keeptrust_hf", {})["model_id"] = "backend"
            call = self._backend_call(ctx, op, ref.hub_model, entry, backend)
            ctx.upstream_backend = backend.name
            try:
                return await backend.execute(call)
            except NotFound as exc:
                if exc.code == "upstream_not_found" and not entry.hf_model_id:
                    served = ctx.extra.get("keeptrust_hf", {}).get("hub_served_by")
                    hint = f"; on the Hub, '{ref.hub_model}' is served by: {', '.join(served)}" if served else ""
                    raise NotFound(
                        f"the Hugging Face backend '{backend.name}' does not know the model id '{entry.provider_id}' "
                        f"(not a Hub repo mapped for '{backend.name}', so it was sent as the backend's own id){hint}",
                        code="model_not_found",
                        param="model",
                    ) from None
                # The backend no longer knows the id the mapping gave: refresh the mapping, once.
                if exc.code != "upstream_not_found" or attempt == 2:
                    raise
                self.logger.info(
                    "target '%s': backend '%s' answered 404 for '%s'; refreshing its mapping",
                    self.config.id,
                    backend.name,
                    ref.hub_model,
                )
                self.mapping.invalidate(ref.hub_model)
                if ref.backend is None:
                    backend = None
            except PermissionDenied as exc:
                raise _gated(ref.hub_model, exc) from None
        raise UpstreamError("unreachable")  # pragma: no cover - the loop returns or raises

    async def _entry(
        self, ctx: RequestContext, hub_model: str, backend: Backend | None, op: str
    ) -> tuple[MappingEntry, Backend]:
        if backend is None:
            return self._auto_entry(hub_model, await self.mapping.get(ctx, hub_model), op)
        task = backend.task_for(op)
        try:
            entries = await self.mapping.get(ctx, hub_model)
        except ModelNotFound:
            entries = []
        except RequestError as exc:
            if exc.code != "model_not_supported":
                raise
            entries = []
        entry = next((e for e in entries if e.provider == backend.name), None)
        if entry is None:
            if entries:
                ctx.extra.setdefault("keeptrust_hf", {})["hub_served_by"] = [e.provider for e in entries]
            # Not a Hub repo mapped for this backend: the backend's own model id (the backend
            # guide's ``huggingface/cerebras/llama-3.1-70b-instruct``).
            return own_id_entry(hub_model, backend, op), backend
        if entry.task != task and not _equivalent_tasks(entry.task, task):
            raise RequestError(
                f"model '{hub_model}' is served by '{backend.name}' for task '{entry.task}', not '{task}' ({op})",
                param="model",
                code="task_mismatch",
            )
        if entry.status == "staging":
            raise RequestError(
                f"model '{hub_model}' is in staging on '{backend.name}' (meant for its tests only) "
                "and cannot be used yet",
                param="model",
                code="model_staging",
            )
        if entry.status == "error":
            self.logger.warning(
                "target '%s': the Hub reports backend '%s' unhealthy for '%s'", self.config.id, backend.name, hub_model
            )
        return entry, backend

    def _auto_entry(self, hub_model: str, entries: list[MappingEntry], op: str) -> tuple[MappingEntry, Backend]:
        """No backend named: the first live entry (the Hub orders them by the user's preference)
        whose backend is installed and does ``op`` — what ``provider="auto"`` does."""
        missing: list[str] = []
        for entry in entries:
            backend = self.backends.get(entry.provider)
            if entry.status != "live" and entry.status != "error":
                continue
            if backend is None:
                if entry.provider in KNOWN_ELSEWHERE:
                    missing.append(entry.provider)
                continue
            if backend.supports(op) and _equivalent_tasks(entry.task, backend.task_for(op)):
                return entry, backend
        if missing:
            dists = sorted({KNOWN_ELSEWHERE[m] for m in missing})
            raise RequestError(
                f"model '{hub_model}' is served for {op} only by {', '.join(sorted(set(missing)))}: "
                f"install it with `{install_command(*dists)}`",
                param="model",
                code="unsupported_backend",
            )
        raise RequestError(
            f"no installed Hugging Face backend serves model '{hub_model}' for {op}",
            param="model",
            code="model_not_supported",
        )

    def _backend_call(
        self, ctx: RequestContext, op: str, hub_model: str, entry: MappingEntry, backend: Backend
    ) -> BackendCall:
        token = self.secret.reveal() if self.secret else ""
        key = self.direct_key.reveal() if self.direct_key is not None else None
        base = self.direct_base or backend.direct_base_url
        if key is None and token and not token.startswith("hf_"):
            key = token
        direct = key is not None and base is not None
        headers = dict(backend.headers)
        if direct:
            # A backend's own key goes to the backend's own host (huggingface_hub _prepare_base_url).
            headers["authorization"] = f"{backend.direct_auth_scheme} {key}"
        else:
            if not backend.served_by_router:
                raise RequestError(
                    f"the Hugging Face backend '{backend.name}' is no longer served by the Inference Providers "
                    "router (removed in 2026); call its own API with your key for it: "
                    f"backend: {backend.name} and direct: {{secret_key_ref: ...}} on the target",
                    param="model",
                    code="unsupported_backend",
                )
            self.require_hf_token(f"the Hugging Face backend '{backend.name}'")
            headers.update(self.router_headers())
            base = f"{self.router}/{backend.name}"
        return self._call(ctx, op, hub_model, entry.provider_id, entry, base or "", not direct, headers)

    def _call(
        self,
        ctx: RequestContext,
        op: str,
        hub_model: str,
        provider_model: str,
        entry: MappingEntry | None,
        base: str,
        via_router: bool,
        headers: dict[str, str],
    ) -> BackendCall:
        timeout = self.config.stream_timeout if ctx.stream else self.config.timeout_seconds
        return BackendCall(
            ctx=ctx,
            operation=op,
            hub_model=hub_model,
            provider_model=provider_model,
            mapping=entry,
            base_url=base,
            via_router=via_router,
            upstream=self.upstream,
            headers=headers,
            downloads=self.downloads,
            logger=self.logger,
            timeout=timeout,
            poll_interval=self.config.poll_interval_seconds,
            options=self.config.backend_options,
        )

    # ------------------------------------------------------------------ native task API
    async def task_of(self, ctx: RequestContext, hub_model: str) -> str:
        from keeptrust_hf import task_api

        return await task_api.task_of(self, ctx, hub_model)

    async def run_task(self, ctx: RequestContext, hub_model: str, task: str, binary_type: str | None) -> Result:
        from keeptrust_hf import task_api

        return await task_api.run_task(self, ctx, hub_model, task, binary_type)

    async def list_models(self) -> list[dict[str, Any]]:
        if self.mode != ROUTER or self.config.model is not None:
            return []
        from keeptrust_hf.models_listing import list_hub_models

        return await list_hub_models(self)

    async def aclose(self) -> None:
        await self.downloads.aclose()
        await super().aclose()


class _EndpointBackend(Backend):
    """A Dedicated Endpoint's OpenAI-compatible routes, for embeddings (TEI's ``/v1/embeddings``)."""

    name = "endpoint"
    operations = frozenset({ops.EMBEDDINGS})
    routes = {ops.EMBEDDINGS: "/embeddings"}
    max_upload_bytes = None


def _mode(config: HFTarget) -> str:
    if not config.base_url:
        return ROUTER
    path = httpx.URL(config.base_url).path.rstrip("/")
    if config.format == "huggingface" and not path.endswith("/v1"):
        return NATIVE
    return MESSAGES


def _messages_root(base_url: str) -> str:
    """The OpenAI root of an endpoint: ``.../v1`` kept, ``/v1`` appended to a bare endpoint URL
    (huggingface_hub ``_build_chat_completion_url``)."""
    base = base_url.rstrip("/")
    if base.endswith("/chat/completions"):
        base = base[: -len("/chat/completions")]
    return base if base.endswith("/v1") else base + "/v1"


def _equivalent_tasks(have: str | None, want: str | None) -> bool:
    if have == want:
        return True
    # Interchangeable for embeddings (huggingface.js getInferenceProviderMapping; hf_inference.py).
    return {have, want} == {"feature-extraction", "sentence-similarity"}


def _gated(hub_model: str, exc: PermissionDenied) -> PermissionDenied:
    return PermissionDenied(
        f"access to model '{hub_model}' was refused (403): if the model is gated, accept its licence on "
        f"https://huggingface.co/{hub_model} with the account that owns the token; fine-grained tokens also need "
        "the 'Make calls to Inference Providers' permission",
        code="gated_model",
        headers=exc.headers,
    )


def own_id_entry(model_id: str, backend: Backend, op: str) -> MappingEntry:
    """The mapping entry of a name that is the backend's own model id (no Hub repo behind it)."""
    return MappingEntry(provider=backend.name, provider_id=model_id, task=backend.task_for(op) or "", hf_model_id="")
