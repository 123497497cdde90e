"""The Anthropic Messages API (``POST /v1/messages``, ``/v1/messages/count_tokens``) spoken at the
edge and translated to the gateway's chat operation, so that every target and every policy works
unchanged: policies see a chat-completions body, and the answer is translated back after the
response-phase policies ran.

Wire format: the ``anthropic`` Python SDK's types (``anthropic.types.MessageCreateParams``,
``Message``, ``RawMessageStreamEvent``) and https://docs.anthropic.com/en/api/messages.
"""

from keeptrust.anthropic.dialect import COUNT_TOKENS, MESSAGES, MessagesDialect

__all__ = ["COUNT_TOKENS", "MESSAGES", "MessagesDialect"]
