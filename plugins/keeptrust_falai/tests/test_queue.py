"""The queue client against the fake fal on loopback: URLs, polling, failures, cancellation."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
import trio

from keeptrust.config.model import TargetConfig
from keeptrust.context import RequestContext
from keeptrust.errors import RequestError, UpstreamError, UpstreamTimeout
from keeptrust.secrets import Redactor
from keeptrust.testing import serve_app
from keeptrust.transport import Upstream
from keeptrust_falai.endpoints import FalEndpoints, QueueJob, queue_job
from keeptrust_falai.queue import FalJobFailed, FalQueue
from keeptrust_falai.testing import FakeFal, JobPlan

MODEL = "fal-ai/flux/dev"


def test_endpoints_router_direct_and_proxy():
    router = FalEndpoints.for_base("https://router.huggingface.co/fal-ai", via_router=True)
    job = QueueJob("abc", "/fal-ai/flux/requests/abc")
    assert router.submit(MODEL) == "https://router.huggingface.co/fal-ai/fal-ai/flux/dev"
    assert router.params == {"_subdomain": "queue"}
    assert router.job_url(job, "/status") == "https://router.huggingface.co/fal-ai/fal-ai/flux/requests/abc/status"
    direct = FalEndpoints.for_base("https://fal.run", via_router=False)
    assert direct.run(MODEL) == "https://fal.run/fal-ai/flux/dev"
    assert direct.stream(MODEL) == "https://fal.run/fal-ai/flux/dev/stream"
    assert direct.submit(MODEL) == "https://queue.fal.run/fal-ai/flux/dev"
    assert direct.params == {}
    assert direct.job_url(job, "/cancel") == "https://queue.fal.run/fal-ai/flux/requests/abc/cancel"
    proxy = FalEndpoints.for_base("http://127.0.0.1:9/", via_router=False)
    assert proxy.submit(MODEL) == "http://127.0.0.1:9/fal-ai/flux/dev" and proxy.params == {"_subdomain": "queue"}


def test_queue_job_never_trusts_a_foreign_path():
    ok = queue_job(MODEL, {"request_id": "r1", "response_url": "https://queue.fal.run/fal-ai/flux/requests/r1"})
    assert ok == QueueJob("r1", "/fal-ai/flux/requests/r1")
    # A response_url with another shape (or someone else's id) is replaced by the documented one.
    for url in ("https://evil.example/../../admin", "https://queue.fal.run/fal-ai/flux/requests/other", None):
        assert queue_job(MODEL, {"request_id": "r1", "response_url": url}).path == "/fal-ai/flux/requests/r1"
    with pytest.raises(UpstreamError):
        queue_job(MODEL, {"status": "IN_QUEUE"})
    with pytest.raises(UpstreamError):
        queue_job(MODEL, {"request_id": "../x"})


def test_queue_job_on_a_rewritten_router_url():
    router = FalEndpoints.for_base("https://router.huggingface.co/fal-ai", via_router=True)
    rewritten = {"request_id": "r1", "response_url": "https://router.huggingface.co/fal-ai/fal-ai/flux/requests/r1"}
    assert queue_job(MODEL, rewritten, router).path == "/fal-ai/flux/requests/r1"
    original = {"request_id": "r1", "response_url": "https://queue.fal.run/fal-ai/flux/requests/r1"}
    assert queue_job(MODEL, original, router).path == "/fal-ai/flux/requests/r1"


@pytest.fixture
def fake() -> Iterator[tuple[FakeFal, str]]:
    app = FakeFal(prefix="/fal-ai")
    server = serve_app(app)
    try:
        yield app, server.url
    finally:
        server.stop()


def _queue(url: str, *, timeout: float = 10.0, ctx: RequestContext | None = None) -> FalQueue:
    config = TargetConfig(id="fal", provider="huggingface", max_retries=0)
    upstream = Upstream(config, redactor=Redactor())
    ctx = ctx or RequestContext(request_id="r", operation="images", endpoint="/v1/images/generations", body={})
    return FalQueue(
        ctx=ctx,
        upstream=upstream,
        endpoints=FalEndpoints.for_base(url + "/fal-ai", via_router=True),
        headers={"authorization": "Bearer hf_test"},
        timeout=timeout,
        poll_interval=0.001,
        logger=logging.getLogger("test"),
    )


async def test_submit_poll_and_fetch(fake):
    app, url = fake
    app.plan_next(polls_in_queue=2, polls_in_progress=2)
    result = await _queue(url).run(MODEL, {"prompt": "a cat", "num_images": 1})
    assert result["images"][0]["url"].endswith(".png")
    calls = [(r.method, r.path, r.query) for r in app.requests]
    queue = {"_subdomain": "queue"}
    assert calls[0] == ("POST", "/fal-ai/fal-ai/flux/dev", queue)
    assert calls[1:5] == [("GET", "/fal-ai/fal-ai/flux/requests/req-0001/status", queue)] * 4
    assert calls[5] == ("GET", "/fal-ai/fal-ai/flux/requests/req-0001/status", queue)
    assert calls[6] == ("GET", "/fal-ai/fal-ai/flux/requests/req-0001", queue)
    assert app.requests[0].body == {"prompt": "a cat", "num_images": 1}
    assert app.requests[0].headers["authorization"] == "Bearer hf_test"


async def test_failed_job_is_a_502_with_fal_message(fake):
    app, url = fake
    app.plan_next(fail="CUDA out of memory")
    with pytest.raises(FalJobFailed) as info:
        await _queue(url).run(MODEL, {"prompt": "x"})
    assert info.value.status == 502 and "CUDA out of memory" in info.value.message
    assert not app.calls("PUT")  # a finished job is not cancelled


async def test_cancelled_job_is_a_502(fake):
    app, url = fake
    app.plan_next(final_status="CANCELLED")
    with pytest.raises(FalJobFailed, match="CANCELLED"):
        await _queue(url).run(MODEL, {"prompt": "x"})


async def test_result_validation_error_is_a_400(fake):
    app, url = fake
    app.plan_next(result_status=422, result_detail=[{"loc": ["body", "image_size"], "msg": "too large", "type": "v"}])
    with pytest.raises(RequestError) as info:
        await _queue(url).run(MODEL, {"prompt": "x"})
    assert info.value.status == 400 and "too large" in info.value.message


async def test_submit_error_is_mapped(fake):
    app, url = fake
    app.fail_next(401, {"detail": "bad token"})
    with pytest.raises(Exception) as info:
        await _queue(url).run(MODEL, {"prompt": "x"})
    assert getattr(info.value, "status", None) == 401


async def test_budget_spent_cancels_the_job(fake):
    app, url = fake
    app.plan_next(hold=True)
    # A budget the submission cannot spend on a loaded machine: with 0.3 s the connection to the fake
    # once took longer ("no connection within 0.3s"), before there was a job to cancel.
    with pytest.raises(UpstreamTimeout, match="cancelled"):
        await _queue(url, timeout=1.0).run(MODEL, {"prompt": "x"})
    cancel = app.calls("PUT")
    assert [(r.path, r.query) for r in cancel] == [
        ("/fal-ai/fal-ai/flux/requests/req-0001/cancel", {"_subdomain": "queue"})
    ]
    assert app.jobs["req-0001"].cancelled


async def test_caller_cancellation_cancels_the_job(fake):
    app, url = fake
    app.plan_next(hold=True)
    queue = _queue(url)
    async with trio.open_nursery() as nursery:
        nursery.start_soon(queue.run, MODEL, {"prompt": "x"})
        # Wait for the job to be polled at least once, then walk away as a disconnecting client does.
        while not app.calls("GET", "/status"):
            await trio.sleep(0.01)
        nursery.cancel_scope.cancel()
    assert app.jobs["req-0001"].cancelled


async def test_polling_failure_cancels_the_job(fake):
    app, url = fake
    app.plan_next(polls_in_queue=5)
    app.fail_next(500, {"detail": "status store down"}, path="/status")
    with pytest.raises(UpstreamError, match="status store down"):
        await _queue(url).run(MODEL, {"prompt": "x"})
    assert app.jobs["req-0001"].cancelled


def test_job_plan_defaults():
    assert JobPlan().final_status == "COMPLETED"


async def test_a_forgotten_job_is_a_502_not_a_stale_mapping(fake):
    app, url = fake
    app.fail_next(404, {"detail": "Request not found"}, path="/status")
    with pytest.raises(FalJobFailed, match="no longer knows job req-0001"):
        await _queue(url).run(MODEL, {"prompt": "x"})
