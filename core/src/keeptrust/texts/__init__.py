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

from keeptrust.texts.chunks import GROWING, DeltaText, chunk_texts
from keeptrust.texts.declared import TextLocator, register_operation_texts
from keeptrust.texts.fields import (
    MESSAGE_ROLES,
    NOT_TEXT,
    REQUEST_NOT_TEXT,
    RESPONSE_FORMAT,
    RESPONSE_NOT_TEXT,
    ROLES,
    SCHEMA_KEYS,
    SCHEMA_NOT_TEXT,
    TOOLS,
)
from keeptrust.texts.logprobs import TokenAligner, realign, token_text
from keeptrust.texts.refs import FileNameRef, TextRef, TokensRef
from keeptrust.texts.walk import (
    first_step,
    item_role,
    request_texts,
    response_texts,
    responses_item,
    responses_items,
    schema_texts,
    walk,
)

__all__ = [
    "GROWING",
    "MESSAGE_ROLES",
    "NOT_TEXT",
    "REQUEST_NOT_TEXT",
    "RESPONSE_FORMAT",
    "RESPONSE_NOT_TEXT",
    "ROLES",
    "SCHEMA_KEYS",
    "SCHEMA_NOT_TEXT",
    "TOOLS",
    "DeltaText",
    "FileNameRef",
    "TextLocator",
    "TextRef",
    "TokenAligner",
    "TokensRef",
    "chunk_texts",
    "first_step",
    "item_role",
    "realign",
    "register_operation_texts",
    "request_texts",
    "response_texts",
    "responses_item",
    "responses_items",
    "schema_texts",
    "token_text",
    "walk",
]
