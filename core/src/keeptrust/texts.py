"""Every text a model will read and every text a client will see, for every operation: the one
place policies find (and rewrite) them.

Each text comes as a ``TextRef`` with the role it speaks in and its path in the body. The walk is
safe by default: inside messages, content parts, Responses items, tools and answers, *every*
string is a text unless its key is listed in ``NOT_TEXT`` with the reason it is not read as text
(ids, enums, media payloads). A field the OpenAI API adds tomorrow is therefore checked from the
first day; the test suite walks the openai SDK's request and answer types to keep that true.

Roles are the message roles (``system``, ``developer``, ``user``, ``assistant``, ``tool``,
``function``; normalised at the edge) plus two for texts outside messages that models read all the
same: ``tools`` (names, descriptions and JSON-schema texts of tool and function definitions,
including MCP tool listings) and ``response_format`` (the structured-output schema of
``response_format`` or the Responses ``text.format``). Responses ``instructions`` speak as
``system``; top-level fields of the non-chat operations (embedding inputs, image and speech prompts,
multipart fields and file names) as ``user``.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator
from typing import Any

import attrs

from keeptrust import context as ops

MESSAGE_ROLES = ("system", "developer", "user", "assistant", "tool", "function")
TOOLS = "tools"
RESPONSE_FORMAT = "response_format"
ROLES = (*MESSAGE_ROLES, TOOLS, RESPONSE_FORMAT)


@attrs.define(eq=False)
class TextRef:
    """One text in a body. ``set`` writes a new value back in place."""

    container: Any
    key: Any
    role: str
    where: str

    @property
    def text(self) -> str:
        return self.container[self.key]

    def set(self, value: str) -> None:
        self.container[self.key] = value


@attrs.define(eq=False)
class FileNameRef(TextRef):
    """The name of an uploaded file (multipart): upstreams receive it and some models see it."""

    @property
    def text(self) -> str:
        return self.container[self.key].filename

    def set(self, value: str) -> None:
        self.container[self.key] = attrs.evolve(self.container[self.key], filename=value)


@attrs.define(eq=False)
class TokensRef(TextRef):
    """Logprob tokens (``logprobs.content`` or ``logprobs.refusal``): read as the text they spell,
    rewritten by re-cutting the new text at the old token boundaries (see ``realign``)."""

    @property
    def text(self) -> str:
        return "".join(token_text(e) for e in self.container[self.key])

    def set(self, value: str) -> None:
        entries = self.container[self.key]
        self.container[self.key] = realign(entries, self.text, value)


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


def token_text(entry: Any) -> str:
    """The text of one logprob entry."""
    token = entry.get("token") if isinstance(entry, dict) else None
    return token if isinstance(token, str) else ""


# -- walking ------------------------------------------------------------------------------------


def _path(where: str, key: Any) -> str:
    if isinstance(key, int):
        return f"{where}[{key}]"
    return f"{where}.{key}" if where else str(key)


def first_step(where: str) -> str:
    """The top-level key a path starts with."""
    end = len(where)
    for mark in ".[":
        at = where.find(mark)
        if at != -1:
            end = min(end, at)
    return where[:end]


def walk(value: Any, role: str, where: str) -> Iterator[TextRef]:
    """Every string under ``value`` except under ``NOT_TEXT`` keys and data URLs; JSON schemas
    (tool parameters, output formats) are walked as schemas, logprobs as the text they spell."""
    if isinstance(value, dict):
        for key in value:
            yield from _field(value, key, role, where)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            path = f"{where}[{i}]"
            if isinstance(item, str):
                if not item.startswith("data:"):
                    yield TextRef(value, i, role, path)
            elif isinstance(item, (dict, list)):
                yield from walk(item, role, path)


def _field(container: dict[str, Any], key: str, role: str, where: str) -> Iterator[TextRef]:
    if key in NOT_TEXT:
        return
    value = container[key]
    path = _path(where, key)
    if isinstance(value, str):
        if not value.startswith("data:"):
            yield TextRef(container, key, role, path)
    elif key in SCHEMA_KEYS and isinstance(value, dict):
        yield from schema_texts(value, role, path)
    elif key in ("tools", "functions") and isinstance(value, list):
        yield from _definitions(value, path)
    elif key == "logprobs" and isinstance(value, (dict, list)):
        yield from _logprobs(container, role, where)
    elif isinstance(value, (dict, list)):
        yield from walk(value, role, path)


def schema_texts(schema: Any, role: str, where: str) -> Iterator[TextRef]:
    """Descriptions, titles, examples, defaults and enum values of a JSON schema: the model reads
    them as instructions. Structure (types, patterns, references, property names) is not text."""
    if isinstance(schema, dict):
        for key, item in schema.items():
            if key in SCHEMA_NOT_TEXT:
                continue
            path = _path(where, key)
            if isinstance(item, str):
                yield TextRef(schema, key, role, path)
            elif isinstance(item, (dict, list)):
                yield from schema_texts(item, role, path)
    elif isinstance(schema, list):
        for i, item in enumerate(schema):
            if isinstance(item, str):
                yield TextRef(schema, i, role, f"{where}[{i}]")
            elif isinstance(item, (dict, list)):
                yield from schema_texts(item, role, f"{where}[{i}]")


def _definitions(tools: list[Any], where: str) -> Iterator[TextRef]:
    yield from walk(tools, TOOLS, where)


def _logprobs(container: dict[str, Any], role: str, where: str) -> Iterator[TextRef]:
    """Chat's ``logprobs: {content: [...], refusal: [...]}`` or the Responses ``logprobs: [...]``."""
    value = container.get("logprobs")
    if isinstance(value, list) and value:
        yield TokensRef(container, "logprobs", role, _path(where, "logprobs"))
    elif isinstance(value, dict):
        for key, entries in value.items():
            if isinstance(entries, list) and entries:
                yield TokensRef(value, key, role, f"{_path(where, 'logprobs')}.{key}")


def _messages(messages: Any, where: str) -> Iterator[TextRef]:
    if not isinstance(messages, list):
        return
    for i, message in enumerate(messages):
        if isinstance(message, dict):
            role = message.get("role") if isinstance(message.get("role"), str) else "user"
            yield from walk(message, role, f"{where}[{i}]")


# Roles of Responses input and output items other than messages. Outputs of tools are what a
# tool said; calls are what the model said; MCP tool listings are tool definitions.
_ITEM_ROLES = {
    "mcp_list_tools": TOOLS,
    "mcp_approval_response": "user",
    "item_reference": "user",
}
# Fields of call items that carry what the tool answered.
_TOOL_ANSWER_FIELDS = frozenset({"output", "outputs", "results", "error"})


def item_role(item: dict[str, Any]) -> str:
    kind = item.get("type")
    if not isinstance(kind, str) or kind == "message":
        role = item.get("role")
        return role if isinstance(role, str) else "user"
    if kind in _ITEM_ROLES:
        return _ITEM_ROLES[kind]
    if kind.endswith("_output"):
        return "tool"
    return "assistant"


def responses_items(items: Any, where: str) -> Iterator[TextRef]:
    """Texts of Responses input or output items, each with the role its item speaks in."""
    if not isinstance(items, list):
        return
    for i, item in enumerate(items):
        path = f"{where}[{i}]"
        if isinstance(item, str):
            yield TextRef(items, i, "user", path)
        elif isinstance(item, dict):
            yield from responses_item(item, path)


def responses_item(item: dict[str, Any], where: str) -> Iterator[TextRef]:
    role = item_role(item)
    if role == "assistant":
        # A call item: its arguments are the model's, its results the tool's.
        for key in item:
            if key in _TOOL_ANSWER_FIELDS:
                yield from _field(item, key, "tool", where)
            else:
                yield from _field(item, key, role, where)
    else:
        yield from walk(item, role, where)


def _top_level(operation: str, body: dict[str, Any], handled: frozenset[str]) -> Iterator[TextRef]:
    """Fields an operation's walk does not know by name: extra parameters (``negative_prompt``,
    provider-specific options, multipart fields) are texts unless listed as not text."""
    skip = REQUEST_NOT_TEXT.get(operation, {})
    for key, value in body.items():
        if key in handled or key in skip:
            continue
        if isinstance(value, ops.UploadedFile):
            yield FileNameRef(body, key, "user", f"{key}.filename")
        elif isinstance(value, list) and any(isinstance(v, ops.UploadedFile) for v in value):
            for i, v in enumerate(value):
                if isinstance(v, ops.UploadedFile):
                    yield FileNameRef(value, i, "user", f"{key}[{i}].filename")
                elif isinstance(v, str):
                    yield TextRef(value, i, "user", f"{key}[{i}]")
        else:
            yield from _field(body, key, "user", "")


_CHAT_KEYS = frozenset({"messages", "tools", "functions", "response_format"})
_RESPONSES_KEYS = frozenset({"instructions", "input", "tools", "text", "prompt"})


def _chat_request(body: dict[str, Any]) -> Iterator[TextRef]:
    yield from _messages(body.get("messages"), "messages")
    for key in ("tools", "functions"):
        if isinstance(body.get(key), list):
            yield from _definitions(body[key], key)
    fmt = body.get("response_format")
    if isinstance(fmt, dict):
        yield from walk(fmt, RESPONSE_FORMAT, "response_format")
    yield from _top_level(ops.CHAT, body, _CHAT_KEYS)


def _responses_request(body: dict[str, Any]) -> Iterator[TextRef]:
    if isinstance(body.get("instructions"), str):
        yield TextRef(body, "instructions", "system", "instructions")
    elif isinstance(body.get("instructions"), list):
        yield from responses_items(body["instructions"], "instructions")
    value = body.get("input")
    if isinstance(value, str):
        yield TextRef(body, "input", "user", "input")
    else:
        yield from responses_items(value, "input")
    if isinstance(body.get("tools"), list):
        yield from _definitions(body["tools"], "tools")
    text = body.get("text")
    if isinstance(text, dict):
        yield from walk(text, RESPONSE_FORMAT, "text")
    prompt = body.get("prompt")
    if isinstance(prompt, dict) and isinstance(prompt.get("variables"), dict):
        # A stored prompt's template variables are substituted into what the model reads.
        yield from walk(prompt["variables"], "user", "prompt.variables")
    yield from _top_level(ops.RESPONSES, body, _RESPONSES_KEYS)


def _embeddings_request(body: dict[str, Any]) -> Iterator[TextRef]:
    value = body.get("input")
    if isinstance(value, str):
        yield TextRef(body, "input", "user", "input")
    elif isinstance(value, list):
        yield from (TextRef(value, i, "user", f"input[{i}]") for i, v in enumerate(value) if isinstance(v, str))
    yield from _top_level(ops.EMBEDDINGS, body, frozenset({"input"}))


def request_texts(operation: str, body: dict[str, Any]) -> list[TextRef]:
    """Every text the client sent that a model (or the upstream's pipeline) reads, in body order
    within each part. Policies may rewrite them in place with ``TextRef.set``."""
    if not isinstance(body, dict):
        return []
    if operation == ops.CHAT:
        return list(_chat_request(body))
    if operation == ops.RESPONSES:
        return list(_responses_request(body))
    if operation == ops.EMBEDDINGS:
        return list(_embeddings_request(body))
    if operation == ops.MODELS:
        return []
    # Images, image edits, speech, transcriptions and any operation added later: every field not
    # known to be a setting is text (prompt, negative_prompt, instructions, file names, ...).
    return list(_top_level(operation, body, frozenset()))


def response_texts(operation: str, body: Any) -> list[TextRef]:
    """Every text in a whole (non-stream) answer the client will read."""
    if not isinstance(body, dict):
        return []
    out: list[TextRef] = []
    if operation == ops.CHAT:
        for i, choice in enumerate(body.get("choices") or []):
            if not isinstance(choice, dict):
                continue
            where = f"choices[{i}]"
            if isinstance(choice.get("message"), dict):
                out.extend(walk(choice["message"], "assistant", f"{where}.message"))
            out.extend(_logprobs(choice, "assistant", where))
    elif operation == ops.RESPONSES:
        out.extend(responses_items(body.get("output"), "output"))
        if isinstance(body.get("output_text"), str):
            out.append(TextRef(body, "output_text", "assistant", "output_text"))
    elif operation == ops.TRANSCRIPTION:
        if isinstance(body.get("text"), str):
            out.append(TextRef(body, "text", "assistant", "text"))
        for i, seg in enumerate(body.get("segments") or []):
            if isinstance(seg, dict) and isinstance(seg.get("text"), str):
                out.append(TextRef(seg, "text", "assistant", f"segments[{i}].text"))
        for i, word in enumerate(body.get("words") or []):
            if isinstance(word, dict) and isinstance(word.get("word"), str):
                out.append(TextRef(word, "word", "assistant", f"words[{i}].word"))
    elif operation == ops.IMAGES or operation == ops.IMAGE_EDIT:
        for i, image in enumerate(body.get("data") or []):
            if isinstance(image, dict) and isinstance(image.get("revised_prompt"), str):
                out.append(TextRef(image, "revised_prompt", "assistant", f"data[{i}].revised_prompt"))
    return out


# -- streamed chat chunks -------------------------------------------------------------------------

# Delta fields that grow chunk by chunk; every other string in a delta (a tool's name, ...) comes
# whole in one chunk.
GROWING = frozenset({"content", "refusal", "reasoning_content", "reasoning", "arguments"})


@attrs.define(eq=False)
class DeltaText:
    """One text in a chat chunk. ``channel`` names the field of the whole message it adds to (the
    path the same text has in a non-streamed answer), so one stream filter follows each field."""

    ref: TextRef
    channel: str
    growing: bool


def chunk_texts(chunk: dict[str, Any]) -> list[DeltaText]:
    """The texts of one streamed chat chunk (``choices[].delta`` and logprob tokens)."""
    out: list[DeltaText] = []
    for choice in chunk.get("choices") or ():
        if not isinstance(choice, dict):
            continue
        index = choice.get("index", 0)
        base = f"choices[{index}].message"
        delta = choice.get("delta")
        if isinstance(delta, dict):
            for ref in walk(delta, "assistant", ""):
                out.append(DeltaText(ref, _channel(base, ref, delta), _growing(ref)))
        for ref in _logprobs(choice, "assistant", f"choices[{index}]"):
            out.append(DeltaText(ref, ref.where, True))
    return out


def _growing(ref: TextRef) -> bool:
    return isinstance(ref.key, str) and ref.key in GROWING


def _channel(base: str, ref: TextRef, delta: dict[str, Any]) -> str:
    # Stream deltas address tool calls by their ``index`` field, not by list position.
    where = ref.where
    if where.startswith("tool_calls["):
        position = int(where[len("tool_calls[") : where.index("]")])
        calls = delta.get("tool_calls")
        call = calls[position] if isinstance(calls, list) and position < len(calls) else None
        index = call.get("index", position) if isinstance(call, dict) else position
        where = f"tool_calls[{index}]" + where[where.index("]") + 1 :]
    return f"{base}.{where}"


# -- logprob tokens ---------------------------------------------------------------------------------


def realign(entries: list[Any], old: str, new: str) -> list[Any]:
    """Logprob entries for ``new``, a rewrite of the text ``old`` the entries spell. Tokens in
    unchanged stretches keep their entry; each changed stretch becomes one entry carrying the new
    text, the summed log-probability of the tokens it replaces and no alternatives (they would
    show what was rewritten)."""
    if old == new:
        return entries
    bounds: list[tuple[int, int]] = []
    pos = 0
    for e in entries:
        t = token_text(e)
        bounds.append((pos, pos + len(t)))
        pos += len(t)
    same = [False] * len(old)
    matcher = difflib.SequenceMatcher(None, old, new, autojunk=False)
    # old offset -> new offset, for unchanged characters
    to_new: dict[int, int] = {}
    for a, b, size in matcher.get_matching_blocks():
        for k in range(size):
            same[a + k] = True
            to_new[a + k] = b + k
    out: list[Any] = []
    cursor = 0  # next character of ``new`` not yet given to an entry
    pending_logprob = 0.0
    for entry, (start, end) in zip(entries, bounds, strict=True):
        if end > start and all(same[start:end]) and to_new[start] >= cursor:
            first = to_new[start]
            if first > cursor:
                out.append(_merged(new[cursor:first], pending_logprob))
            pending_logprob = 0.0  # tokens rewritten to nothing leave no entry
            out.append(entry)
            cursor = to_new[end - 1] + 1
        else:
            lp = entry.get("logprob") if isinstance(entry, dict) else None
            pending_logprob += lp if isinstance(lp, (int, float)) else 0.0
    if cursor < len(new):
        out.append(_merged(new[cursor:], pending_logprob))
    return out


def _merged(text: str, logprob: float) -> dict[str, Any]:
    return {"token": text, "logprob": logprob, "bytes": list(text.encode()), "top_logprobs": []}


class TokenAligner:
    """Streamed logprob tokens through the stream filters: the tokens of each chunk are fed as the
    text they spell, and entries are handed out once the filters have let their text through
    (re-cut with ``realign`` where the filters rewrote it). A token the filters still hold
    waits, so what the tokens spell is always exactly the filtered text."""

    def __init__(self) -> None:
        self.pending: list[Any] = []
        self.out = ""

    def add(self, entries: list[Any]) -> str:
        self.pending.extend(entries)
        return "".join(token_text(e) for e in entries)

    def take(self, emitted: str, final: bool) -> list[Any]:
        self.out += emitted
        old = "".join(token_text(e) for e in self.pending)
        if final:
            ready, self.pending, self.out = realign(self.pending, old, self.out), [], ""
            return ready
        blocks = difflib.SequenceMatcher(None, old, self.out, autojunk=False).get_matching_blocks()
        ends = [0]
        for entry in self.pending:
            ends.append(ends[-1] + len(token_text(entry)))
        # The longest run of whole tokens whose end maps into the emitted text (the rest is held).
        for k in range(len(self.pending), 0, -1):
            at = ends[k]
            mapped = next((b + at - a for a, b, size in blocks if size and a < at <= a + size), None)
            if mapped is not None:
                ready = realign(self.pending[:k], old[:at], self.out[:mapped])
                self.pending, self.out = self.pending[k:], self.out[mapped:]
                return ready
        return []
