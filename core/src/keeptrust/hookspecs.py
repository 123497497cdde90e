"""The hooks a keeptrust plugin can implement.

Every hook runs once, at start-up, while the gateway builds its registry. Each hands the plugin a
``register`` callback (or, for commands, the click group); what a plugin registers is a plain object
whose methods the core calls per request. pluggy never awaits, so no implementation may be ``async``.

A plugin is a module with functions decorated by ``keeptrust.hookimpl``, published under the
entry-point group ``keeptrust``::

    [project.entry-points.keeptrust]
    myplugin = "keeptrust_myplugin.plugin"

An exception raised inside a hook stops start-up with an error naming the plugin's distribution.
Registering a name that another plugin already registered is also a start-up error. ``register``
checks each class against the contract below (``keeptrust.contract`` holds it as typed Protocols):
a class without a required member, with an ``async`` member that is not ``async def``, or with a
``config_class`` that is not an attrs class is refused with an error naming the plugin, the class
and the member.

A plugin may define registration hooks of its own for its sub-plugins (keeptrust-hf's
``register_hf_backends``, keeptrust-guard's ``register_guard_detectors``): it names the module
holding their specs in a module-level ``KEEPTRUST_HOOKSPECS`` string, and collects what was
registered with ``env.registry.extension(hook_name, check=...)``, which applies the same rules and
error text as the hooks below.

Configuration checks: a provider or policy class may define
``check_config(config, check) -> list[str]`` (a classmethod). ``kt config validate`` and start-up
call it after the whole config is structured; ``check`` is a ``keeptrust.contract.ConfigCheck``
(the whole ``loaded`` config, the ``registry`` of everything plugins registered, the ``environ``).
Return messages relative to the class's config block (``"rules[0].target: unknown target 'x'"``).
Checks that need the class to start (loading a model) belong in ``__init__``: ``kt config validate``
builds the gateway without serving, so those run there too.

Public module: plugins import it; the names in ``__all__`` are its API.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pluggy

hookspec = pluggy.HookspecMarker("keeptrust")
hookimpl = pluggy.HookimplMarker("keeptrust")


@hookspec
def register_providers(register: Callable[[type], None]) -> None:
    """Register provider families, such as ``openai`` or ``huggingface``.

    Call ``register(ProviderClass)`` once per family. Subclassing ``keeptrust.Provider`` supplies
    every member but ``name`` and ``execute``. The class must have:

    - ``name``: the family name a target's ``provider:`` starts with (``huggingface`` also matches
      ``huggingface:chat:org/model``);
    - ``config_class``: a frozen attrs class, a subclass of ``keeptrust.TargetConfig``, into which the
      core structures each ``providers.targets[]`` entry of this family (unknown keys are errors);
    - ``__init__(self, config, env)``: called once per target at start-up, with the structured config
      and a ``keeptrust.ProviderEnv`` (``upstream``: the target's transport; ``secret``; ``redactor``;
      ``logger``; ``registry``);
    - ``supports(self, operation) -> bool``: whether this target can perform an operation
      (``keeptrust.context`` constants); the core answers 400 ``unsupported_operation`` before
      calling ``execute`` otherwise. The base class answers from the class's ``operations`` set;
    - ``async execute(self, ctx) -> keeptrust.Result``: called per request, after the request-phase
      policies, with a ``keeptrust.RequestContext`` whose ``operation`` and ``body`` say what to do.
      It returns a ``JSONResult``, ``StreamResult`` or ``BinaryResult`` in the OpenAI shape, or
      raises a ``keeptrust.errors.GatewayError`` (``UnsupportedOperation`` for an operation the
      family cannot do). Any other exception is a 500 whose log line names the plugin.

    Optional members:

    - ``resolve_model(self, model) -> str | None`` for *open* targets (no ``model``): the upstream
      model name when this target accepts the client's ``model``, else ``None``;
    - ``naming_hint``: an instance attribute, a phrase added to "model not found" errors saying
      which names this open target accepts (``None``: nothing to add);
    - ``async list_models(self) -> list[dict]`` for ``GET /v1/models``, and ``async aclose(self)``,
      called at shutdown;
    - ``expand_shorthand(raw) -> dict`` (static or class method): rewrites a raw target mapping
      before it is structured (keeptrust-hf turns ``huggingface:chat:org/model`` into keys); raise
      ``ValueError`` with a message for a bad shorthand;
    - ``auth_header(config, secret) -> dict[str, str]`` (class method): the default headers that
      authenticate the target's transport, from its config and its ``keeptrust.secrets.Secret``
      (or ``None``). Without it the transport sends ``Authorization: Bearer <secret>``;
    - ``retry_policy``: a ``keeptrust.transport.RetryPolicy`` for this family's error answers. The
      default retries 429 and 5xx at most ``max_retries`` times with backoff and honours
      ``Retry-After``; keeptrust-hf waits out Hugging Face cold starts (503 with ``estimated_time``)
      within the whole time budget instead;
    - ``check_config(config, check) -> list[str]`` (class method): see the module documentation.
    """


@hookspec
def register_policies(register: Callable[[type], None]) -> None:
    """Register policies, such as ``router``, ``audit-logger`` or ``pii-detector``.

    Call ``register(PolicyClass)`` once per policy. The class must have:

    - ``name``: the name used in ``policies.chain`` and ``policies.policy``;
    - ``config_class``: a frozen attrs class, a subclass of ``keeptrust.PolicyConfig`` (which brings
      ``mode: enforce|shadow``, ``timeout_ms`` and ``on_timeout: block|allow``), into which the core
      structures ``policies.policy.<name>``;
    - ``__init__(self, config, env)``: called once at start-up with a ``keeptrust.PolicyEnv``.

    Per request the core calls, in ``policies.chain`` order, the methods the class defines (the
    ``keeptrust.Policy`` base class supplies no-op defaults):

    - ``async on_request(ctx) -> Decision | None`` before the upstream call; may edit ``ctx.body``
      and return ``Modify``, or return ``Block`` to answer the client with 400 ``policy_violation``;
    - ``async on_response(ctx, body) -> Decision | None`` on a whole (non-stream) answer;
    - ``stream_filter(ctx) -> StreamFilter | None`` once per streamed answer: a stateful object whose
      ``feed(text)`` returns the text safe to emit now (or raises ``keeptrust.StreamBlocked``) and
      ``flush()`` the rest; either may be ``async def`` to run costly analysis off the event loop;
    - ``async on_complete(ctx)`` after every request, blocked, failed and cancelled ones included;
    - ``async redact_for_record(ctx, value, phase) -> value`` (redacting policies): ``value`` (any JSON
      value: a body, an answer, a streamed text, an error message) with what the policy would redact
      in ``phase`` (``request`` or ``response``) taken out, deciding nothing. The chain calls it before
      ``on_complete`` for each phase the policy's own method did not redact (refused earlier in the
      chain, blocked by the policy itself, shadow mode, an upstream error), so the audit log never
      holds what the policy removes;
    - ``keeps_bodies`` / ``holds_answer`` (attributes, default False): a completion consumer that keeps
      bodies (so the chain redacts for it), or one whose ``on_complete`` must finish before the client
      has the whole answer (it then runs just before the answer's last message);
    - ``async run(task_status)`` (optional): a long-running task started in the server's nursery
      (the audit writer uses it); call ``task_status.started()`` once ready;
    - ``async aclose()`` (optional) at shutdown;
    - ``check_config(config, check) -> list[str]`` (optional class method): see the module
      documentation.

    ``env`` is a ``keeptrust.PolicyEnv``: ``logger``, ``registry`` (what plugins registered),
    ``config`` (the whole loaded config), ``targets``, ``redactor`` (add secrets the policy resolves
    itself so logs and errors scrub them) and ``environ``. Per-request state a policy keeps for
    itself goes in ``ctx.extra[<policy name>]``; the core never reads ``ctx.extra``.

    In ``mode: shadow`` the core records every decision but never lets it change traffic.

    Each call of these methods runs under a cancel scope of the policy's ``timeout_ms`` (default
    10000); past it the call is cancelled and the core applies ``on_timeout`` (default ``block``: 503
    ``policy_timeout``) and records the decision. Cancellation reaches a policy at its next
    checkpoint, so blocking work belongs in a worker thread started with
    ``trio.to_thread.run_sync(fn, ..., abandon_on_cancel=True)``: a thread that cannot be abandoned
    holds its request until it returns, whatever the budget.
    """


@hookspec
def register_audit_sinks(register: Callable[[type], None]) -> None:
    """Register audit destinations, such as ``jsonl``, ``sqlite`` or ``api``.

    Call ``register(SinkClass)``. The class must have ``name`` (the value of the audit-logger's
    ``destination``), ``config_class`` (a frozen attrs class structured from the audit-logger block's
    ``sink`` options), ``__init__(self, config, env)``, ``async write(records: list[dict])`` which
    must not return before the records are durable as far as the sink promises, and
    ``async aclose()``. Sinks are written from one writer task, never from the request path.
    ``env`` is a ``keeptrust.audit.SinkEnv``; the records arrive sealed (``chain``, ``seq``,
    ``prev_hash``, ``hash``). Optional ``open``, ``run`` and ``prune`` methods are described in
    ``keeptrust.audit.sink``.
    """


@hookspec
def register_commands(cli: Any) -> None:
    """Add sub-commands to ``kt``. ``cli`` is the root ``click.Group``; call ``cli.command()`` or
    ``cli.add_command()`` on it. Runs before argument parsing, so a failing plugin makes ``kt``
    report the plugin by name."""


@hookspec
def register_routes(register: Callable[..., None]) -> None:
    """Add HTTP routes to the gateway.

    Call ``register(method, path, handler)``: ``handler`` is ``async handler(request) -> Response``
    receiving a ``keeptrust.server.GatewayRequest`` (parsed body, headers, request context) and
    returning a ``keeptrust.Result``. Routes pass the same authentication, body limits and error
    handling as the built-in ones. A path another plugin registered is a start-up error.

    ``path`` may be a template: ``{name}`` matches one path segment, a final ``{name:path}`` the
    rest of the path (``/models/{org}/{name}{tail:path}``); the values arrive in
    ``request.params``. ``register(..., raw_body=True)`` hands the body over as bytes (binary
    uploads) instead of parsed JSON. A handler that sets ``request.ctx.operation`` to an operation
    of its own declares its texts with ``keeptrust.texts.register_operation_texts`` so that policies
    see them.
    """


@hookspec
def register_tracers(register: Callable[[type], None]) -> None:
    """Register a request tracer, such as keeptrust-otel's ``otel`` (OpenTelemetry traces).

    Call ``register(TracerClass)``. The class must have ``name``, ``__init__(self, env)`` (env: a
    ``keeptrust.tracing.TracerEnv``: ``logger``, ``environ``, ``version``), ``start(self, ctx, route,
    method, headers)`` and ``async aclose(self)``. Its settings come from the environment (the
    standard ``OTEL_*`` variables for keeptrust-otel); it has no config block.

    Each process that serves requests (every ``--workers`` worker) builds one instance as it starts
    serving and calls ``aclose`` at shutdown, after the last request; ``aclose`` flushes what is
    buffered without blocking the event loop (a worker thread). A config reload keeps the tracer.
    ``start`` is called once per audited request (not for probes or ``/metrics``), with the route
    template, the method and the raw request headers; it returns a ``keeptrust.tracing.RequestTrace``
    (or ``None`` to leave the request untraced) that the core then calls at each policy phase, each
    upstream attempt, each target-group fallback and at the request's end: ``keeptrust.tracing``
    describes each call. These calls run on the request's path: they must not block or do I/O.

    At most one tracer may be installed; a second is a start-up error (disable one with
    ``KEEPTRUST_DISABLE_PLUGINS``). With none, tracing costs nothing.
    """


__all__ = [
    "hookimpl",
    "hookspec",
    "register_audit_sinks",
    "register_commands",
    "register_policies",
    "register_providers",
    "register_routes",
    "register_tracers",
]
