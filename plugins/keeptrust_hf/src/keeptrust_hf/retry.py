"""Hugging Face cold starts: a model that is not loaded yet answers 503 with ``estimated_time``
(seconds until it is ready), as serverless models and scaled-to-zero Inference Endpoints do, e.g.
``{"error": "Model org/model is currently loading", "estimated_time": 20.0}``. The gateway waits
such answers out within the request's time budget instead of counting them against
``max_retries``; other provider families keep the core's bounded retries."""

from __future__ import annotations

import httpx
import orjson

from keeptrust.transport import RetryPolicy


class ColdStartRetry(RetryPolicy):
    """The core's policy, plus: a 503 is waited out within the whole budget, after ``Retry-After``
    or else the body's ``estimated_time``."""

    def hint(self, response: httpx.Response) -> float | None:
        hint = super().hint(response)
        if hint is not None or response.status_code != 503:
            return hint
        try:
            body = orjson.loads(response.content)
        except (orjson.JSONDecodeError, httpx.ResponseNotRead):
            return None
        if isinstance(body, dict) and isinstance(body.get("estimated_time"), (int, float)):
            return float(body["estimated_time"])
        return None

    def waits_out(self, response: httpx.Response) -> bool:
        return response.status_code == 503


COLD_START_RETRY = ColdStartRetry()
