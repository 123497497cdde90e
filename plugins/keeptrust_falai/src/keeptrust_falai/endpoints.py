"""Where each fal call goes: sync runs, streams, and the queue (submit, status, result, cancel),
through the Hugging Face router or straight to fal."""

from __future__ import annotations

import re
from typing import Any

import attrs
import httpx

from keeptrust.errors import UpstreamError
from keeptrust_hf.backend import quote_path

FAL_RUN_HOST = "fal.run"
FAL_QUEUE_URL = "https://queue.fal.run"
# The router (and any proxy that follows its convention) picks fal's queue host from this query.
QUEUE_PARAMS: tuple[tuple[str, str], ...] = (("_subdomain", "queue"),)

_SEGMENT = r"[A-Za-z0-9][A-Za-z0-9._~-]*"
_JOB_PATH = re.compile(rf"^(/{_SEGMENT})+/requests/{_SEGMENT}$")
_REQUEST_ID = re.compile(rf"^{_SEGMENT}$")


@attrs.frozen
class QueueJob:
    """A submitted job: its id and the path of its ``response_url`` (``/{owner}/{app}/requests/{id}``)."""

    request_id: str
    path: str


@attrs.frozen
class FalEndpoints:
    run_base: str
    queue_base: str
    queue_params: tuple[tuple[str, str], ...]

    @classmethod
    def for_base(cls, base_url: str, via_router: bool) -> FalEndpoints:
        """Router: one base, the queue chosen by ``?_subdomain=queue``. fal itself: ``fal.run`` for
        runs and ``queue.fal.run`` for the queue. Any other direct base (a proxy, a test fake) is
        taken to follow the router's convention."""
        base = base_url.rstrip("/")
        if not via_router and httpx.URL(base).host == FAL_RUN_HOST:
            return cls(base, FAL_QUEUE_URL, ())
        return cls(base, base, QUEUE_PARAMS)

    def run(self, model: str) -> str:
        return f"{self.run_base}/{quote_path(model)}"

    def stream(self, model: str) -> str:
        return f"{self.run_base}/{quote_path(model)}/stream"

    def submit(self, model: str) -> str:
        return f"{self.queue_base}/{quote_path(model)}"

    @property
    def params(self) -> dict[str, str]:
        return dict(self.queue_params)

    def job_url(self, job: QueueJob, suffix: str = "") -> str:
        """``status``, result (``""``) and ``cancel`` URLs of a job, always on the configured queue
        host: fal's own ``response_url`` host is never used, so the credentials go nowhere else."""
        return f"{self.queue_base}{job.path}{suffix}"


def queue_job(model: str, submitted: Any, endpoints: FalEndpoints | None = None) -> QueueJob:
    """The job in a submit answer. Status and result URLs drop the model's sub-path
    (``fal-ai/flux/dev`` polls under ``/fal-ai/flux/requests/{id}``), so the path is taken from
    ``response_url`` when it is well-formed, else built from the first two segments of the id.

    fal's ``response_url`` is on fal's queue host; should a proxy (the router) rewrite it onto its
    own host, its path already carries the proxy's prefix, which is then dropped."""
    if not isinstance(submitted, dict) or not isinstance(submitted.get("request_id"), str):
        raise UpstreamError("fal-ai's queue accepted the job but returned no 'request_id'")
    request_id = submitted["request_id"]
    if not _REQUEST_ID.match(request_id):
        raise UpstreamError("fal-ai's queue returned a malformed 'request_id'")
    response_url = submitted.get("response_url")
    if isinstance(response_url, str):
        url = httpx.URL(response_url)
        path = url.path
        if endpoints is not None:
            base = httpx.URL(endpoints.queue_base)
            prefix = base.path.rstrip("/")
            if url.host == base.host and prefix and path.startswith(prefix + "/"):
                path = path[len(prefix) :]
        if _JOB_PATH.match(path) and ".." not in path and path.endswith("/" + request_id):
            return QueueJob(request_id, path)
    app = "/".join(model.split("/")[:2])
    return QueueJob(request_id, f"/{quote_path(app)}/requests/{request_id}")
