"""The roles texts speak in, and the fields that are not text (each with the reason): the lists
the walk in ``keeptrust.texts.walk`` and its schema test keep in step."""

from __future__ import annotations

from keeptrust import context as ops

MESSAGE_ROLES = ("system", "developer", "user", "assistant", "tool", "function")
TOOLS = "tools"
RESPONSE_FORMAT = "response_format"
ROLES = (*MESSAGE_ROLES, TOOLS, RESPONSE_FORMAT)


# Keys whose values are not text a model reads or a client reads as prose, wherever they occur
# inside messages, parts, items, tools and answers. Everything else is text.
NOT_TEXT: dict[str, str] = {
    "type": "the kind of object: an enum",
    "role": "the speaker: an enum, normalised and checked at the edge",
    "status": "an enum",
    "detail": "image detail level: an enum",
    "verbosity": "an enum",
    "syntax": "the syntax of a custom tool grammar: an enum",
    "id": "an identifier",
    "call_id": "an identifier",
    "tool_call_id": "an identifier",
    "item_id": "an identifier",
    "file_id": "an identifier",
    "container_id": "an identifier",
    "approval_request_id": "an identifier",
    "vector_store_ids": "identifiers",
    "connector_id": "an identifier",
    "encrypted_content": "opaque provider data, encrypted",
    "signature": "opaque provider data",
    "data": "base64 media (audio)",
    "file_data": "base64 file contents",
    "image_url": "a link to, or data URL of, an image the model views",
    "url": "a link to media or a cited page, not prose",
    "file_url": "a link to a file",
    "server_url": "the address of an MCP server",
    "headers": "HTTP headers sent to an MCP server (credentials), never shown to a model",
    "authorization": "a credential for an MCP server",
    "environment": "the computer-use environment: an enum",
    "require_approval": "an MCP approval mode",
    "allowed_domains": "a web-search domain filter",
    "search_context_size": "an enum",
    "quality": "an enum",
    "size": "an enum",
    "background": "an enum",
    "output_format": "an enum",
    "input_fidelity": "an enum",
    "moderation": "an enum",
    "model": "a model name",
    "mime_type": "a media type",
    "media_type": "a media type",
    "voice": "a voice name",
    "finish_reason": "an enum",
    "object": "an enum",
    "created_by": "an identifier",
    "bytes": "token bytes (numbers), rewritten with the token",
    "top_logprobs": "alternatives to one token (fragments of words); dropped wherever the token is rewritten",
    "version": "a version label",
    "prompt_cache_options": "cache settings",
    "result": "the base64 image of an image-generation call",
    "partial_image_b64": "a base64 image",
    "b64_json": "a base64 image",
    "obfuscation": "random padding of stream events",
}

# JSON-schema keywords whose values are structure, not prose (property names are keys and are not
# rewritten; ``required`` lists them again).
SCHEMA_NOT_TEXT = frozenset(
    {
        "type",
        "$ref",
        "$schema",
        "$id",
        "$anchor",
        "$dynamicRef",
        "format",
        "pattern",
        "required",
        "dependentRequired",
        "contentEncoding",
        "contentMediaType",
    }
)
SCHEMA_KEYS = frozenset({"parameters", "input_schema", "schema", "inputSchema"})

# Top-level request fields that are not text a model reads, per operation, with the reason.
_SAMPLING = {
    "model": "selects the model",
    "user": "an end-user id for abuse monitoring, not sent to the model as text",
    "safety_identifier": "an end-user id",
    "prompt_cache_key": "a cache key",
    "prompt_cache_retention": "an enum",
    "service_tier": "an enum",
    "metadata": "key-value tags stored with the request, not read by the model",
    "store": "a flag",
    "stream": "a flag",
    "stream_options": "flags",
    "include": "an enum list of extra output",
    "response_format": "the answer's encoding (images, audio) or handled as a schema (chat)",
}
REQUEST_NOT_TEXT: dict[str, dict[str, str]] = {
    ops.CHAT: {
        **_SAMPLING,
        "stop": "stop sequences the server matches in the output; the model does not read them",
        "reasoning_effort": "an enum",
        "verbosity": "an enum",
        "modalities": "an enum list",
        "audio": "voice and format of the spoken answer",
        "tool_choice": "selects a tool by the name its definition carries (the definition is read)",
        "function_call": "selects a function by name (legacy; the definition is read)",
        "logit_bias": "token ids",
        "parallel_tool_calls": "a flag",
    },
    ops.RESPONSES: {
        **_SAMPLING,
        "previous_response_id": "an identifier",
        "conversation": "an identifier",
        "tool_choice": "selects a tool by the name its definition carries (the definition is read)",
        "reasoning": "effort and summary settings: enums",
        "truncation": "an enum",
        "background": "a flag",
        "parallel_tool_calls": "a flag",
        "context_management": "compaction settings",
    },
    ops.EMBEDDINGS: {**_SAMPLING, "encoding_format": "an enum", "dimensions": "a number"},
    ops.IMAGES: {
        **_SAMPLING,
        "image": "input images as URLs or base64 (the names of uploaded files are read)",
        "mask": "a mask image as a URL or base64 (the name of an uploaded file is read)",
        "size": "an enum",
        "quality": "an enum",
        "style": "an enum",
        "background": "an enum",
        "moderation": "an enum",
        "output_format": "an enum",
        "input_fidelity": "an enum",
    },
    ops.SPEECH: {**_SAMPLING, "voice": "a voice name or id", "stream_format": "an enum"},
    ops.TRANSCRIPTION: {
        **_SAMPLING,
        "language": "an ISO-639 code",
        "timestamp_granularities": "an enum list",
        "chunking_strategy": "an enum or VAD settings",
        "known_speaker_references": "audio samples as data URLs",
    },
}
REQUEST_NOT_TEXT[ops.IMAGE_EDIT] = REQUEST_NOT_TEXT[ops.IMAGES]

# Answer fields that are not new text, per operation, with the reason.
RESPONSE_NOT_TEXT: dict[str, dict[str, str]] = {
    ops.CHAT: {
        "id": "an identifier",
        "object": "an enum",
        "model": "a model name",
        "system_fingerprint": "a backend configuration id",
        "service_tier": "an enum",
        "metadata": "echoes the request's tags",
    },
    ops.RESPONSES: {
        "id": "an identifier",
        "object": "an enum",
        "model": "a model name",
        "status": "an enum",
        "service_tier": "an enum",
        "previous_response_id": "an identifier",
        "conversation": "an identifier",
        "user": "an end-user id",
        "safety_identifier": "an end-user id",
        "prompt_cache_key": "a cache key",
        "prompt_cache_retention": "an enum",
        "truncation": "an enum",
        "tool_choice": "echoes the request",
        "instructions": "echoes the request, checked in the request phase",
        "tools": "echoes the request, checked in the request phase",
        "text": "echoes the request's output format, checked in the request phase",
        "prompt": "echoes the request's prompt template, checked in the request phase",
        "reasoning": "echoes the request's reasoning settings",
        "metadata": "echoes the request's tags",
        "incomplete_details": "an enum reason",
        "error": "an error code and the upstream's message, replaced by the gateway on failure",
    },
}
