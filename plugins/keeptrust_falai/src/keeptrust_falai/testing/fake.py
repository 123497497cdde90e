"""A fake fal on loopback: synchronous runs, the queue API (submit, status, result, cancel),
``/stream`` SSE, and the CDN files its answers link to. It records every request and misbehaves on
demand (failed, cancelled and never-ending jobs, error statuses, broken streams).

Served with ``prefix="/fal-ai"`` it is the Hugging Face router's fal route; with no prefix it is fal
itself. Either way a queue call is told apart by ``?_subdomain=queue``, the router's convention.
"""

from __future__ import annotations

import base64
import threading
import zlib
from collections import deque
from typing import Any
from urllib.parse import parse_qsl

import attrs
import orjson
import trio

from keeptrust.demo.asgi import accept


# A valid 1x1 PNG, built here rather than pasted as an opaque blob.
def _png() -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return len(data).to_bytes(4, "big") + kind + data + zlib.crc32(kind + data).to_bytes(4, "big")

    header = (1).to_bytes(4, "big") * 2 + bytes([8, 6, 0, 0, 0])
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00\xff\x00\x00\xff"))
        + chunk(b"IEND", b"")
    )


PNG = _png()
# An MP3 file's ID3 header followed by filler frames: enough for any sniffer, and several chunks long.
MP3 = b"ID3\x04\x00\x00\x00\x00\x00\x00" + b"\xff\xfb\x90\x64" * 4096
TRANSCRIPT = (("The quick brown fox", 0.0, 1.5), (" jumps over the lazy dog.", 1.5, 3.25))


@attrs.define
class FalRequest:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: Any


@attrs.define
class JobPlan:
    """How the next queued job behaves."""

    polls_in_queue: int = 1
    polls_in_progress: int = 1
    fail: str | None = None  # the job fails: status carries ``error``, the result endpoint a 500
    result_status: int | None = None  # the result endpoint answers this status with ``result_detail``
    result_detail: Any = None
    final_status: str = "COMPLETED"  # e.g. "CANCELLED"
    hold: bool = False  # never finishes (a slow job): for timeouts and client disconnects


@attrs.define
class Fault:
    """One injected answer for the next request whose path contains ``path``."""

    status: int
    body: Any = None
    path: str = ""
    method: str | None = None


@attrs.define
class Job:
    request_id: str
    model: str
    body: dict[str, Any]
    plan: JobPlan
    polls: int = 0
    cancelled: bool = False


class FakeFal:
    """ASGI app.

    - ``prefix``: ``"/fal-ai"`` to be the router's fal route, ``""`` to be fal itself;
    - ``keys``: the accepted ``Authorization`` values (``{"Key fal-123"}``); ``None`` accepts any;
    - ``stream_partials``: partial renders a ``/stream`` call sends before the final one.

    What an app answers is told apart by its input: ``audio_url`` → a transcript, ``text`` →
    speech (a CDN link to an MP3), anything else → images (data URIs with ``sync_mode``, else
    CDN links). ``requests`` / ``calls()`` hold what arrived, ``downloads`` the CDN fetches,
    ``jobs`` the queued jobs (``.cancelled``); ``cancelled`` is set at the first cancel request.
    """

    def __init__(self, *, prefix: str = "", keys: set[str] | None = None, stream_partials: int = 2) -> None:
        self.prefix = prefix.rstrip("/")
        self.keys = keys
        self.stream_partials = stream_partials
        self.requests: list[FalRequest] = []
        self.downloads: list[FalRequest] = []  # requests for the CDN files answers link to
        self.jobs: dict[str, Job] = {}
        self.plans: deque[JobPlan] = deque()
        self.faults: deque[Fault] = deque()
        self.files: dict[str, tuple[bytes, str]] = {}
        self.cancelled = threading.Event()
        # Stream events after this index become an error event.
        self.stream_error_after: int | None = None
        # Answer with CDN links even when asked for ``sync_mode`` (some fal apps do).
        self.ignore_sync_mode = False
        self._counter = 0

    # ------------------------------------------------------------------ test controls
    def plan_next(self, plan: JobPlan | None = None, **kwargs: Any) -> None:
        self.plans.append(plan or JobPlan(**kwargs))

    def fail_next(self, status: int, body: Any = None, *, path: str = "", method: str | None = None) -> None:
        self.faults.append(Fault(status, body, path, method))

    def calls(self, method: str | None = None, contains: str = "") -> list[FalRequest]:
        return [r for r in self.requests if (method is None or r.method == method) and contains in r.path]

    @property
    def last(self) -> FalRequest:
        return self.requests[-1]

    # ------------------------------------------------------------------ ASGI
    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        incoming = await accept(scope, receive, send)
        if incoming is None:
            return
        headers, body = incoming.headers, incoming.json
        query = dict(parse_qsl(incoming.query.decode("latin-1")))
        method, path = incoming.method, incoming.path
        if path.startswith("/files/"):
            self.downloads.append(FalRequest(method, path, query, headers, None))
            await self._file(send, path[len("/files/") :])
            return
        self.requests.append(FalRequest(method, path, query, headers, body))
        if self.keys is not None and headers.get("authorization") not in self.keys:
            await self._json(send, 401, {"detail": "Invalid credentials"})
            return
        for fault in list(self.faults):
            if fault.path in path and (fault.method is None or fault.method == method):
                self.faults.remove(fault)
                await self._json(send, fault.status, fault.body if fault.body is not None else {"detail": "injected"})
                return
        if not path.startswith(self.prefix + "/"):
            await self._json(send, 404, {"detail": f"no route {path}"})
            return
        origin = "http://" + headers.get("host", "127.0.0.1")
        await self.route(method, path[len(self.prefix) :], query.get("_subdomain") == "queue", body, origin, send)

    async def route(self, method: str, path: str, queued: bool, body: Any, origin: str, send: Any) -> None:
        parts = path.strip("/").split("/")
        if "requests" in parts:
            at = parts.index("requests")
            job = self.jobs.get(parts[at + 1]) if len(parts) > at + 1 else None
            tail = parts[at + 2 :]
            if job is None:
                await self._json(send, 404, {"detail": "Request not found", "status": "NOT_FOUND"})
            elif method == "GET" and tail == ["status"]:
                await self._json(send, 200, self._status(job))
            elif method == "GET" and not tail:
                await self._result(job, origin, send)
            elif method == "PUT" and tail == ["cancel"]:
                job.cancelled = True
                self.cancelled.set()
                await self._json(send, 202, {"status": "CANCELLATION_REQUESTED"})
            else:
                await self._json(send, 405, {"detail": "method not allowed"})
            return
        if method != "POST" or not isinstance(body, dict):
            await self._json(send, 422, {"detail": [{"loc": ["body"], "msg": "field required", "type": "missing"}]})
            return
        if parts[-1] == "stream":
            await self._stream("/".join(parts[:-1]), body, send)
            return
        model = "/".join(parts)
        if not queued:
            await self._json(send, 200, self.answer(model, body, origin))
            return
        self._counter += 1
        request_id = f"req-{self._counter:04d}"
        plan = self.plans.popleft() if self.plans else JobPlan()
        self.jobs[request_id] = Job(request_id, model, body, plan)
        # Like fal: the URLs drop the model's sub-path and live on fal's own queue host.
        app = "/".join(parts[:2])
        base = f"https://queue.fal.run/{app}/requests/{request_id}"
        await self._json(
            send,
            200,
            {
                "request_id": request_id,
                "response_url": base,
                "status_url": base + "/status",
                "cancel_url": base + "/cancel",
                "queue_position": 0,
                "status": "IN_QUEUE",
            },
        )

    def _status(self, job: Job) -> dict[str, Any]:
        job.polls += 1
        plan = job.plan
        if plan.hold and not job.cancelled:
            return {"status": "IN_PROGRESS", "logs": []}
        if job.polls <= plan.polls_in_queue:
            return {"status": "IN_QUEUE", "queue_position": plan.polls_in_queue - job.polls}
        if job.polls <= plan.polls_in_queue + plan.polls_in_progress:
            return {"status": "IN_PROGRESS", "logs": [{"message": "step", "level": "INFO"}]}
        status: dict[str, Any] = {"status": plan.final_status, "logs": [], "metrics": {"inference_time": 0.5}}
        if plan.fail:
            status.update(error=plan.fail, error_type="runner_server_error")
        return status

    async def _result(self, job: Job, origin: str, send: Any) -> None:
        plan = job.plan
        if plan.fail:
            await self._json(send, 500, {"detail": plan.fail, "error_type": "runner_server_error"})
        elif plan.result_status is not None:
            await self._json(send, plan.result_status, {"detail": plan.result_detail})
        else:
            await self._json(send, 200, self.answer(job.model, job.body, origin))

    # ------------------------------------------------------------------ model answers
    def _link(self, origin: str, name: str, data: bytes, ctype: str) -> str:
        self.files[name] = (data, ctype)
        return f"{origin}/files/{name}"

    def answer(self, model: str, body: dict[str, Any], origin: str) -> dict[str, Any]:
        """What a fal app of this kind returns, told apart by its input."""
        if "audio_url" in body:
            return self._transcript(body)
        if "text" in body:
            self._counter += 1
            url = self._link(origin, f"speech-{self._counter}.mp3", MP3, "audio/mpeg")
            return {
                "audio": {"url": url, "content_type": "audio/mpeg", "file_name": "speech.mp3", "file_size": len(MP3)}
            }
        return {
            "images": self._images(body, origin),
            "seed": 42,
            "has_nsfw_concepts": [False],
            "timings": {"inference": 0.1},
            "prompt": body.get("prompt"),
        }

    def _images(self, body: dict[str, Any], origin: str) -> list[dict[str, Any]]:
        size = body.get("image_size")
        width, height = (size["width"], size["height"]) if isinstance(size, dict) else (1024, 768)
        ctype = "image/" + str(body.get("output_format") or "png")
        out = []
        for _ in range(int(body.get("num_images") or 1)):
            self._counter += 1
            if body.get("sync_mode") and not self.ignore_sync_mode:
                url = "data:image/png;base64," + base64.b64encode(PNG).decode()
            else:
                url = self._link(origin, f"image-{self._counter}.png", PNG, "image/png")
            out.append({"url": url, "width": width, "height": height, "content_type": ctype})
        return out

    def _transcript(self, body: dict[str, Any]) -> dict[str, Any]:
        text = "".join(t for t, _, _ in TRANSCRIPT)
        if body.get("chunk_level") == "word":
            chunks = []
            for piece, start, end in TRANSCRIPT:
                words = piece.split()
                step = (end - start) / len(words)
                chunks += [
                    {"text": " " + w, "timestamp": [round(start + i * step, 3), round(start + (i + 1) * step, 3)]}
                    for i, w in enumerate(words)
                ]
        else:
            chunks = [{"text": t, "timestamp": [s, e]} for t, s, e in TRANSCRIPT]
        return {
            "text": text,
            "chunks": chunks,
            "inferred_languages": [body.get("language") or "en"],
            "diarization_segments": [],
        }

    async def _stream(self, model: str, body: dict[str, Any], send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/event-stream")]})
        events: list[dict[str, Any]] = [{"type": "progress", "logs": []}]
        events += [
            {"images": self._images({**body, "num_images": 1, "sync_mode": True}, "")}
            for _ in range(self.stream_partials)
        ]
        events.append({"images": self._images({**body, "sync_mode": True}, "")})
        for i, event in enumerate(events):
            if self.stream_error_after is not None and i > self.stream_error_after:
                event = {"error": {"message": "the runner crashed"}}
                await send(
                    {"type": "http.response.body", "body": b"data: " + orjson.dumps(event) + b"\n\n", "more_body": True}
                )
                break
            await send(
                {"type": "http.response.body", "body": b"data: " + orjson.dumps(event) + b"\n\n", "more_body": True}
            )
            await trio.sleep(0)
        await send({"type": "http.response.body", "body": b"", "more_body": False})

    # ------------------------------------------------------------------ files and plumbing
    async def _file(self, send: Any, name: str) -> None:
        found = self.files.get(name)
        if found is None:
            await self._json(send, 404, {"detail": "no such file"})
            return
        data, ctype = found
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", ctype.encode()), (b"content-length", str(len(data)).encode())],
            }
        )
        # Several body parts, so a relay that streams is told apart from one that buffers.
        step = max(1, len(data) // 4)
        for i in range(0, len(data), step):
            await send({"type": "http.response.body", "body": data[i : i + step], "more_body": i + step < len(data)})

    async def _json(self, send: Any, status: int, payload: Any) -> None:
        data = orjson.dumps(payload)
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(data)).encode())],
            }
        )
        await send({"type": "http.response.body", "body": data})
