"""References to one text in a body, through which policies read and rewrite it in place."""

from __future__ import annotations

from typing import Any

import attrs

from keeptrust.texts.logprobs import realign, token_text


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
