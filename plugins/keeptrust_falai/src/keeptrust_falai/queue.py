"""fal's queue API: submit a job, poll its status with backoff within the target's budget, fetch the
result; cancel the job when the caller stops waiting (client gone, budget spent, polling failed)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import httpx
import orjson
import trio

from keeptrust.errors import GatewayError, NotFound, RequestError, UpstreamError, UpstreamTimeout
from keeptrust.transport import upstream_message
from keeptrust_falai.endpoints import FalEndpoints, QueueJob, queue_job

if TYPE_CHECKING:
    import logging

    from keeptrust.context import RequestContext
    from keeptrust.transport import Upstream

# A cancel must reach fal even while the request that started the job is being torn down, but
# never hold that teardown for long.
CANCEL_TIMEOUT = 3.0
WAITING = frozenset({"IN_QUEUE", "IN_PROGRESS"})


class FalJobFailed(UpstreamError):
    """fal ran the job and reported a failure, or the job was cancelled on fal's side (502)."""

    code = "upstream_job_failed"


def _json(response: httpx.Response, what: str) -> Any:
    try:
        return orjson.loads(response.content)
    except orjson.JSONDecodeError:
        ctype = response.headers.get("content-type", "?")
        raise UpstreamError(f"fal-ai answered the {what} with non-JSON content ({ctype})") from None


def _status_message(status: dict[str, Any]) -> str:
    for key in ("error", "detail", "message"):
        value = status.get(key)
        if isinstance(value, str) and value:
            return " ".join(value.split())[:500]
        if isinstance(value, dict) and isinstance(value.get("message"), str):
            return " ".join(value["message"].split())[:500]
    return ""


class FalQueue:
    """One queue round trip for one request. Stateless between requests."""

    def __init__(
        self,
        *,
        ctx: RequestContext,
        upstream: Upstream,
        endpoints: FalEndpoints,
        headers: Mapping[str, str],
        timeout: float,
        poll_interval: float,
        logger: logging.Logger,
    ) -> None:
        self.ctx = ctx
        self.upstream = upstream
        self.endpoints = endpoints
        self.headers = dict(headers)
        self.timeout = timeout
        self.poll_interval = max(poll_interval, 0.001)
        # Backoff grows the interval up to 8x the first one, at most 4 s, so a long job costs few
        # polls and a short one is still noticed quickly.
        self.max_interval = max(self.poll_interval, min(self.poll_interval * 8, 4.0))
        self.logger = logger

    async def run(self, model: str, payload: dict[str, Any]) -> Any:
        """Submit, wait, fetch. The whole round trip stays within ``timeout``."""
        deadline = trio.current_time() + self.timeout
        job = await self.submit(model, payload, deadline)
        ended = False
        try:
            with trio.fail_after(max(deadline - trio.current_time(), 0)):
                await self.wait(job, deadline)
                ended = True
                return await self.result(job, deadline)
        except trio.TooSlowError:
            await self.cancel(job)
            raise UpstreamTimeout(
                f"fal-ai job {job.request_id} did not finish within {self.timeout:g}s; it was cancelled"
            ) from None
        except FalJobFailed:
            raise
        except BaseException:
            # Client gone (trio.Cancelled) or polling broke: nobody will read the result, so stop
            # paying for the job.
            if not ended:
                await self.cancel(job)
            raise

    def _remaining(self, deadline: float) -> float:
        return max(deadline - trio.current_time(), 0.001)

    async def submit(self, model: str, payload: dict[str, Any], deadline: float) -> QueueJob:
        response = await self.upstream.request(
            self.ctx,
            "POST",
            self.endpoints.submit(model),
            json=payload,
            headers=self.headers,
            params=self.endpoints.params,
            timeout=self._remaining(deadline),
        )
        job = queue_job(model, _json(response, "queue submission"), self.endpoints)
        self.logger.debug("fal-ai job %s submitted for %s", job.request_id, model)
        return job

    async def wait(self, job: QueueJob, deadline: float) -> dict[str, Any]:
        """Poll until the job leaves the queue; a failed or cancelled job raises ``FalJobFailed``."""
        interval = self.poll_interval
        url = self.endpoints.job_url(job, "/status")
        while True:
            await trio.sleep(interval)
            interval = min(interval * 1.5, self.max_interval)
            try:
                response = await self.upstream.request(
                    self.ctx,
                    "GET",
                    url,
                    headers=self.headers,
                    params=self.endpoints.params,
                    timeout=self._remaining(deadline),
                )
            except NotFound:
                # Not a stale model mapping (keeptrust-hf would refresh it and submit again): the
                # queue no longer knows this job.
                raise FalJobFailed(f"fal-ai's queue no longer knows job {job.request_id}") from None
            status = _json(response, "job status")
            state = status.get("status") if isinstance(status, dict) else None
            if state in WAITING:
                continue
            message = _status_message(status) if isinstance(status, dict) else ""
            if state == "COMPLETED" and not message:
                return status
            suffix = f": {self.upstream.redact(message)}" if message else ""
            if state == "COMPLETED":
                raise FalJobFailed(f"fal-ai job {job.request_id} failed{suffix}")
            raise FalJobFailed(f"fal-ai job {job.request_id} ended with status {str(state)[:40]}{suffix}")

    async def result(self, job: QueueJob, deadline: float) -> Any:
        response = await self.upstream.request(
            self.ctx,
            "GET",
            self.endpoints.job_url(job),
            headers=self.headers,
            params=self.endpoints.params,
            timeout=self._remaining(deadline),
            raise_for_status=False,
        )
        if response.status_code < 400:
            return _json(response, "job result")
        try:
            response.content  # noqa: B018 - probing whether the transport read the error body
        except httpx.ResponseNotRead:
            await response.aread()
        message = upstream_message(response, self.upstream.redact)
        suffix = f": {message}" if message else ""
        if response.status_code == 404:
            raise FalJobFailed(f"fal-ai's queue no longer knows job {job.request_id}{suffix}")
        if response.status_code in (400, 422):
            # The model rejected its input (fal validates when the job runs): the client's to fix,
            # as the same input sent synchronously would have been.
            raise RequestError(
                f"fal-ai rejected the request (job {job.request_id}){suffix}", code="upstream_validation_error"
            )
        raise FalJobFailed(f"fal-ai job {job.request_id} failed with {response.status_code}{suffix}")

    async def cancel(self, job: QueueJob) -> None:
        """Ask fal to drop the job, shielded from the cancellation that brought us here."""
        with trio.CancelScope(shield=True), trio.move_on_after(CANCEL_TIMEOUT):
            try:
                response = await self.upstream.request(
                    self.ctx,
                    "PUT",
                    self.endpoints.job_url(job, "/cancel"),
                    headers=self.headers,
                    params=self.endpoints.params,
                    timeout=CANCEL_TIMEOUT,
                    retries=0,
                    raise_for_status=False,
                )
            except GatewayError as exc:
                self.logger.warning("fal-ai job %s could not be cancelled: %s", job.request_id, exc.message)
                return
            self.logger.info("fal-ai job %s cancelled (%s)", job.request_id, response.status_code)
