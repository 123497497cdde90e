"""The console as a raw ASGI app: GET (and HEAD) only, every page rendered on the server.

Index and log reads run in worker threads (``trio.to_thread``); the event loop only moves bytes."""

from __future__ import annotations

import base64
import csv
import hmac
import io
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl, unquote

import attrs
import orjson
import trio

from keeptrust.audit.verify import ChainReport
from keeptrust.demo.asgi import lifespan
from keeptrust_console import queries, render
from keeptrust_console.index import Index, Source

SECURITY_HEADERS = [
    (
        b"content-security-policy",
        b"default-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
    ),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"cache-control", b"no-store"),
    (b"cross-origin-opener-policy", b"same-origin"),
]
HTML = b"text/html; charset=utf-8"
VERIFY_EVERY = 10.0  # seconds a verification result is reused while the log looks unchanged


@attrs.frozen
class Credential:
    """What a request must carry: ``user:password`` (HTTP basic) or a key (``Authorization: Bearer
    KEY``, or basic auth with the key as the password, for browsers)."""

    secret: str

    def allows(self, header: str | None) -> bool:
        if not header:
            return False
        scheme, _, value = header.partition(" ")
        scheme, value = scheme.lower(), value.strip()
        if scheme == "bearer" and ":" not in self.secret:
            return hmac.compare_digest(value.encode(), self.secret.encode())
        if scheme == "basic":
            try:
                user_pass = base64.b64decode(value, validate=True).decode()
            except (ValueError, UnicodeDecodeError):
                return False
            if ":" in self.secret:
                return hmac.compare_digest(user_pass.encode(), self.secret.encode())
            return hmac.compare_digest(user_pass.partition(":")[2].encode(), self.secret.encode())
        return False


class NotFound(Exception):
    pass


class ConsoleApp:
    def __init__(self, source: Source, credential: Credential | None = None) -> None:
        self.source = source
        self.index = Index(source)
        self.credential = credential
        self.label = source.describe()
        self._refreshed = 0.0
        self._verified: tuple[Any, float, list[ChainReport], list[dict[str, Any]]] | None = None
        self._refresh_lock = trio.Lock()
        self._overview_cache: tuple[int, queries.Overview] | None = None

    def prepare(self) -> None:
        """Build the index (at start, before serving)."""
        self.index.refresh()
        self._refreshed = time.monotonic()

    async def _refresh(self) -> None:
        # Every page looks at the log first (a stat per segment, one small query per table chain), so
        # what it shows, and the chain state, is never older than the request; requests arriving
        # while a refresh runs share it.
        asked = time.monotonic()
        async with self._refresh_lock:
            if self._refreshed < asked:
                await trio.to_thread.run_sync(self.index.refresh)
                self._refreshed = time.monotonic()

    def _verification(self) -> tuple[list[ChainReport], list[dict[str, Any]]]:
        now = time.monotonic()
        cached = self._verified
        if cached is None or cached[0] != self.index.generation or now - cached[1] > VERIFY_EVERY:
            self._verified = cached = (self.index.generation, now, self.source.verify(), self.source.anchors())
        return cached[2], cached[3]

    # ------------------------------------------------------------------ ASGI
    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            await lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        if self.credential is not None and not self.credential.allows(headers.get("authorization")):
            await self._respond(
                send,
                401,
                render.error_page(401, "Sign in to read this audit log.", self.label),
                [(b"www-authenticate", b'Basic realm="keeptrust audit", charset="UTF-8"')],
            )
            return
        if scope["method"] not in ("GET", "HEAD"):
            await self._respond(
                send,
                405,
                render.error_page(405, "This console is read-only: GET only.", self.label),
                [(b"allow", b"GET, HEAD")],
            )
            return
        head = scope["method"] == "HEAD"
        path = scope["path"]
        params = dict(parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True))
        try:
            if path == "/static/console.css":
                await self._respond(send, 200, render.CSS, content_type=b"text/css; charset=utf-8", head=head)
                return
            await self._refresh()
            if path == "/":
                page = await trio.to_thread.run_sync(self._overview)
            elif path == "/records":
                page = await trio.to_thread.run_sync(self._records, params)
            elif path.startswith("/record/"):
                page = await trio.to_thread.run_sync(self._record, path)
            elif path in ("/export.csv", "/export.jsonl"):
                query = await trio.to_thread.run_sync(self._query, params)
                await self._export(send, query, path.endswith(".csv"), head)
                return
            else:
                raise NotFound(f"No page at {path}.")
        except NotFound as exc:
            await self._respond(send, 404, render.error_page(404, str(exc), self.label), head=head)
            return
        await self._respond(send, 200, page, head=head)

    async def _respond(
        self,
        send: Any,
        status: int,
        text: str,
        extra: list[tuple[bytes, bytes]] = (),  # type: ignore[assignment]
        content_type: bytes = HTML,
        head: bool = False,
    ) -> None:
        body = text.encode()
        headers = [(b"content-type", content_type), (b"content-length", str(len(body)).encode()), *SECURITY_HEADERS]
        await send({"type": "http.response.start", "status": status, "headers": headers + list(extra)})
        await send({"type": "http.response.body", "body": b"" if head else body})

    # ------------------------------------------------------------------ pages (worker threads)
    def _overview(self) -> str:
        reports, anchors = self._verification()
        with self.index.reading():
            if self._overview_cache is None or self._overview_cache[0] != self.index.generation:
                self._overview_cache = (self.index.generation, queries.overview(self.index.totals))
            ov = self._overview_cache[1]
        return render.overview_page(ov, reports, anchors, self.label)

    def _query(self, params: dict[str, str]) -> queries.Query:
        with self.index.reading():
            return queries.Query.from_params(params, self.index.totals)

    def _records(self, params: dict[str, str]) -> str:
        query = self._query(params)
        before = None
        if params.get("before"):
            ts, _, rid = params["before"].rpartition("|")
            if rid.isdigit():
                before = (ts, int(rid))
        with self.index.reading() as db:
            rows, more = queries.page(db, query, before)
            total = queries.count(db, query)
            choices = queries.choices(self.index.totals)
        return render.records_page(query, rows, more, total, choices, self.label, before is None)

    def _record(self, path: str) -> str:
        chain, _, seq_text = unquote(path[len("/record/") :]).rpartition("/")
        if not seq_text.isdigit():
            raise NotFound("No such record.")
        seq = int(seq_text)
        with self.index.reading() as db:
            row = db.execute(
                "SELECT src, chain, seq, off, len, outcome FROM rec WHERE chain = ? AND seq = ? "
                "ORDER BY id DESC LIMIT 1",
                (chain, seq),
            ).fetchone()
        if row is None:
            raise NotFound(f"No record {chain} #{seq} in this log.")
        record = self.index.load([row[:5]])[0]
        return render.record_page(record, chain, seq, row[5], self.label)

    # ------------------------------------------------------------------ exports (streamed)
    async def _export(self, send: Any, query: queries.Query, as_csv: bool, head: bool) -> None:
        name = "keeptrust-audit." + ("csv" if as_csv else "jsonl")
        ctype = b"text/csv; charset=utf-8" if as_csv else b"application/x-ndjson"
        headers = [
            (b"content-type", ctype),
            (b"content-disposition", f'attachment; filename="{name}"'.encode()),
            *SECURITY_HEADERS,
        ]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        if not head:
            batches = self._batches(query)
            encode: Callable[[list[tuple[Any, ...]]], bytes] = _csv_rows if as_csv else self._jsonl_rows
            if as_csv:
                await send({"type": "http.response.body", "body": _csv_line(CSV_HEADER), "more_body": True})
            while True:
                chunk = await trio.to_thread.run_sync(_next_chunk, batches, encode)
                if chunk is None:
                    break
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
        await send({"type": "http.response.body", "body": b""})

    def _batches(self, query: queries.Query) -> Any:
        def gen() -> Any:
            after_lock = queries.matching(self.index.db, query)
            while True:
                with self.index.reading():
                    rows = next(after_lock, None)
                if rows is None:
                    return
                yield rows

        return gen()

    def _jsonl_rows(self, rows: list[tuple[Any, ...]]) -> bytes:
        records = self.index.load([(r[12], r[10], r[11], r[13], r[14]) for r in rows])
        return b"".join(orjson.dumps(r) + b"\n" for r in records if r is not None)


CSV_HEADER = [
    "time",
    "request_id",
    "role",
    "target",
    "model",
    "status",
    "latency_ms",
    "outcome",
    "decisions",
    "chain",
    "seq",
]


def _next_chunk(batches: Any, encode: Callable[[list[tuple[Any, ...]]], bytes]) -> bytes | None:
    rows = next(batches, None)
    return None if rows is None else encode(rows)


def _cell(value: Any) -> Any:
    # A cell starting with = + - @ runs as a formula in spreadsheets: make it text.
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return "" if value is None else value


def _csv_line(values: list[Any]) -> bytes:
    out = io.StringIO()
    csv.writer(out).writerow([_cell(v) for v in values])
    return out.getvalue().encode()


def _csv_rows(rows: list[tuple[Any, ...]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    for _id, ts, rid, role, target, model, status, latency, outcome, decisions, chain, seq, *_ in rows:
        writer.writerow(
            [_cell(v) for v in (ts, rid, role, target, model, status, latency, outcome, decisions, chain, seq)]
        )
    return out.getvalue().encode()
