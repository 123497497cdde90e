"""The bounded caches of per-token work: the toxicity head's hashed features of a word (itself, its
character n-grams, its clusters), a word's concept terms, an injection head's character columns of a
token.

A token's features depend on the token alone, so a message mostly costs look-ups. Traffic also
carries tokens that never come back (numbers, identifiers, addresses, typos): every cache is a
least-recently-used one, so those age out and the words that do recur stay. Word frequencies fall
off fast (Zipf), so a modest size holds nearly every recurring word: ``benchmarks/token_caches.py``
prints the CPU per message and the process's memory at each size. At 32,768 entries the caches
cost what 100,000 did in CPU and hold at most about 30 MB; a cache that stops adding once full
would instead keep the first tokens it met, however rare, for the life of the process. In a
long-running gateway the process keeps more than the entries hold (memory the evictions free stays
with the allocator), so ``$KEEPTRUST_GUARD_TOKEN_CACHE_SIZE`` lets an operator trade that memory
for CPU.
"""

from __future__ import annotations

import os
import weakref
from collections.abc import Callable, Mapping
from functools import lru_cache
from typing import TypeVar

T = TypeVar("T", bound=Callable[..., object])

# Entries per cache, read once per process: the caches are shared by every guard policy in it.
SIZE_ENV = "KEEPTRUST_GUARD_TOKEN_CACHE_SIZE"
DEFAULT_TOKEN_CACHE_SIZE = 32_768


def size_from_env(environ: Mapping[str, str] = os.environ) -> int:
    """Entries per cache: ``$KEEPTRUST_GUARD_TOKEN_CACHE_SIZE`` if set (0 turns the caches off),
    else ``DEFAULT_TOKEN_CACHE_SIZE``."""
    raw = environ.get(SIZE_ENV, "").strip()
    if not raw:
        return DEFAULT_TOKEN_CACHE_SIZE
    if not (raw.isascii() and raw.isdigit()):
        raise ValueError(
            f"{SIZE_ENV}: expected a whole number of entries per cache, 0 or more "
            f"(0 turns the guard's token caches off); got {raw!r}"
        )
    return int(raw)


TOKEN_CACHE_SIZE = size_from_env()
# Tokens up to this long are cached. Longer ones are rare, and an entry's size grows with its token
# (a word's character n-grams): 8 KiB words, each new, would hold hundreds of megabytes.
CACHED_TOKEN_CHARS = 48

_CACHES: weakref.WeakSet = weakref.WeakSet()


def token_cache(function: T) -> T:
    """``function`` with its results for the last ``TOKEN_CACHE_SIZE`` distinct arguments kept."""
    cached = lru_cache(maxsize=TOKEN_CACHE_SIZE)(function)
    _CACHES.add(cached)
    return cached  # type: ignore[return-value]


def clear_token_caches() -> None:
    """Empty every token cache (benchmarks: each detector meets its tokens as a fresh process would)."""
    for cached in list(_CACHES):
        cached.cache_clear()


def token_cache_entries() -> int:
    """How many entries the token caches hold in all."""
    return sum(cached.cache_info().currsize for cached in list(_CACHES))
