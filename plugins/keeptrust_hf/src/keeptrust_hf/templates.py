"""Where a native endpoint's chat template comes from, in order: the target's ``chat_template``, the
endpoint's ``/info`` (when it reports ``chat_template``), the model's ``tokenizer_config.json`` on
the Hub (``tokenizer_config.json``'s ``chat_template``), else ``prompt.DEFAULT_TEMPLATE``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import orjson

from keeptrust.errors import GatewayError
from keeptrust_hf.backend import quote_path
from keeptrust_hf.config import hub_url
from keeptrust_hf.model_ids import is_repo_id
from keeptrust_hf.prompt import ChatTemplate

if TYPE_CHECKING:
    from keeptrust.context import RequestContext
    from keeptrust_hf.provider import HuggingFaceProvider

# The Hub is asked once per target; a slow or unreachable Hub must not hold the first request long.
HUB_TIMEOUT_SECONDS = 5.0


async def load_template(provider: HuggingFaceProvider, ctx: RequestContext, info: dict[str, Any]) -> ChatTemplate:
    config = provider.config
    if config.chat_template:
        return ChatTemplate.build(config.chat_template, info.get("bos_token", ""), info.get("eos_token", ""))
    if isinstance(info.get("chat_template"), str):
        return ChatTemplate.build(info["chat_template"], info.get("bos_token", ""), info.get("eos_token", ""))
    model = config.model or info.get("model_id")
    if isinstance(model, str) and is_repo_id(model):
        tokenizer = await _tokenizer_config(provider, ctx, model)
        template = tokenizer.get("chat_template")
        if isinstance(template, list):  # several named templates: the "default" one
            template = next(
                (t.get("template") for t in template if isinstance(t, dict) and t.get("name") == "default"), None
            )
        if isinstance(template, str):
            return ChatTemplate.build(template, tokenizer.get("bos_token", ""), tokenizer.get("eos_token", ""))
    provider.logger.info("target '%s': no chat template found; using the default prompt format", config.id)
    return ChatTemplate.build(None)


async def _tokenizer_config(provider: HuggingFaceProvider, ctx: RequestContext, model: str) -> dict[str, Any]:
    url = f"{hub_url()}/{quote_path(model)}/resolve/main/tokenizer_config.json"
    try:
        response = await provider.upstream.request(
            ctx, "GET", url, timeout=HUB_TIMEOUT_SECONDS, retries=0, raise_for_status=False
        )
    except GatewayError:
        return {}
    if response.status_code != 200:
        return {}
    try:
        data = orjson.loads(response.content)
    except orjson.JSONDecodeError:
        return {}
    return data if isinstance(data, dict) else {}
