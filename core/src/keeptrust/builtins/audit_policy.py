"""Policy ``audit-logger``: one record per request, written off the request path.

    audit-logger:
      immutable: true          # hash-chained, append-only segments; `kt audit verify` proves them
      retention_days: 365      # prune whole old segments behind a verifiable anchor
      log_all_access: true     # also 401s, unknown models, bad bodies and GET /v1/models
      destination: jsonl       # or sqlite, api (with endpoint:), or a plugin's sink
      include_request: true    # bodies *after* every redaction
      include_response: true
      include_policy_decisions: true

See docs/audit.md for every key. The records flow: ``on_complete`` builds a dict and enqueues it
(``keeptrust.audit.writer``); the writer task, started by the server's lifespan through ``run``,
seals and writes batches to the sink registered under ``destination``.
"""

from __future__ import annotations

from typing import Any

from keeptrust.audit.config import AuditLoggerConfig, check
from keeptrust.audit.record import build_record, is_access_event
from keeptrust.audit.signing import SigningKey, key_problem
from keeptrust.audit.sink import SinkEnv
from keeptrust.audit.writer import AuditWriter
from keeptrust.config.structure import structure
from keeptrust.context import RequestContext
from keeptrust.contract import ConfigCheck
from keeptrust.errors import ConfigError
from keeptrust.hookspecs import hookimpl
from keeptrust.policy import Policy, PolicyEnv

_PATH = "policies.policy.audit-logger"


class AuditLoggerPolicy(Policy):
    name = "audit-logger"
    config_class = AuditLoggerConfig

    @classmethod
    def check_config(cls, config: AuditLoggerConfig, context: ConfigCheck) -> list[str]:
        errors = check(config)
        sinks = context.registry.audit_sinks
        sink_class = sinks.get(config.destination)
        if sink_class is None:
            installed = ", ".join(sorted(sinks)) or "none"
            errors.append(f"destination: unknown audit sink '{config.destination}' (installed: {installed})")
            return errors
        try:
            structure(config.sink, sink_class.config_class, "sink")
        except ConfigError as exc:
            errors.extend(exc.errors)
        return errors

    def __init__(self, config: AuditLoggerConfig, env: PolicyEnv) -> None:
        super().__init__(config, env)
        sinks = env.registry.audit_sinks
        sink_class = sinks.get(config.destination)
        if sink_class is None:
            raise ConfigError(
                f"{_PATH}.destination: unknown audit sink '{config.destination}' "
                f"(installed: {', '.join(sorted(sinks)) or 'none'})"
            )
        options = structure(config.sink, sink_class.config_class, f"{_PATH}.sink")
        redactor = env.redactor
        environ = env.environ
        signer = None
        if config.signing_key_ref is not None:
            secret = environ.get(config.signing_key_ref.env)
            problem = key_problem(secret, f"environment variable {config.signing_key_ref.env}")
            if problem:
                raise ConfigError(f"{_PATH}.signing_key_ref.env: {problem} (the audit signing key)")
            assert secret is not None
            if redactor is not None:
                redactor.add(secret)
            signer = SigningKey.from_secret(secret, config.signing_key_id)
        sink_env = SinkEnv(
            audit=config,
            logger=env.logger,
            environ=environ,
            redact=redactor,
            add_secret=redactor.add if redactor is not None else (lambda _value: None),
            signer=signer,
        )
        # Bodies kept in the record first pass every redacting policy (PolicyChain.redact_for_record).
        self.keeps_bodies = config.include_request or config.include_response
        # The chain then runs on_complete before the answer's last message, which waits for durability.
        self.holds_answer = config.durable_before_response
        pack = env.config.gateway.pack
        self.pack = pack
        self.writer = AuditWriter(sink_class(options, sink_env), sink_env, {"name": pack.name, "version": pack.version})

    async def on_request(self, ctx: RequestContext) -> None:
        if self.config.include_response:
            # The core keeps a stream's assembled (filtered) text only when someone asks for it.
            ctx.keep_stream_text = True
        return None

    async def on_complete(self, ctx: RequestContext) -> None:
        if not self.config.log_all_access and is_access_event(ctx):
            return
        record = build_record(ctx, self.config, self.pack)
        if self.holds_answer:
            await self.writer.submit_durable(record)
        else:
            await self.writer.submit(record)

    async def run(self, task_status: Any) -> None:
        await self.writer.run(task_status)

    async def aclose(self) -> None:
        await self.writer.aclose()


@hookimpl
def register_policies(register: Any) -> None:
    register(AuditLoggerPolicy)
