"""The hooks a keeptrust plugin can implement.

Every hook runs once, at start-up, while the gateway builds its registry. Each hands the plugin a
``register`` callback (or, for commands, the click group); what a plugin registers is a plain object
whose methods the core calls per request. pluggy never awaits, so no implementation may be ``async``.

A plugin is a module with functions decorated by ``keeptrust.hookimpl``, published under the
entry-point group ``keeptrust``::

    [project.entry-points.keeptrust]
    myplugin = "keeptrust_myplugin.plugin"

An exception raised inside a hook stops start-up with an error naming the plugin's distribution.
Registering a name that another plugin already registered is also a start-up error.
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

    Call ``register(ProviderClass)`` once per family. The class must have:

    - ``name``: the family name a target's ``provider:`` starts with (``huggingface`` also matches
      ``huggingface:chat:org/model``);
    - ``config_class``: a frozen attrs class, a subclass of ``keeptrust.TargetConfig``, into which the
      core structures each ``providers.targets[]`` entry of this family (unknown keys are errors);
    - ``__init__(self, config, env)``: called once per target at start-up, with the structured config
      and a ``keeptrust.ProviderEnv`` (the shared upstream transport, secrets, logger);
    - ``async execute(self, ctx) -> keeptrust.Result``: called per request, after the request-phase
      policies, with a ``keeptrust.RequestContext`` whose ``operation`` and ``body`` say what to do.
      It returns a ``JSONResult``, ``StreamResult`` or ``BinaryResult`` in the OpenAI shape, or
      raises a ``keeptrust.errors.GatewayError`` (``UnsupportedOperation`` for an operation the
      family cannot do);
    - optionally ``resolve_model(self, model) -> str | None`` for *open* targets (no ``model``):
      return the upstream model name when this target accepts the client's ``model``, else ``None``;
    - optionally ``async list_models(self) -> list[dict]`` for ``GET /v1/models``, and
      ``async aclose(self)``, called at shutdown.
    """


@hookspec
def register_policies(register: Callable[[type], None]) -> None:
    """Register policies, such as ``router``, ``audit-logger`` or ``pii-detector``.

    Call ``register(PolicyClass)`` once per policy. The class must have:

    - ``name``: the name used in ``policies.chain`` and ``policies.policy``;
    - ``config_class``: a frozen attrs class, a subclass of ``keeptrust.PolicyConfig`` (which brings
      ``mode: enforce|shadow``), into which the core structures ``policies.policy.<name>``;
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
    - ``async run(task_status)`` (optional): a long-running task started in the server's nursery
      (the audit writer uses it); call ``task_status.started()`` once ready;
    - ``async aclose()`` (optional) at shutdown.

    In ``mode: shadow`` the core records every decision but never lets it change traffic.
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
    """
