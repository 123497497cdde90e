"""Serve ``FakeHF`` (the Hub mapping API and router) from the command line, for benchmarks and demos.

    python -m keeptrust_hf.testing.hub_server --listen 127.0.0.1:18100 \
        --map bench/model=groq:bench/model:conversational

Each ``--map HUB_MODEL=PROVIDER:PROVIDER_ID[:TASK]`` adds one live mapping entry.
"""

from __future__ import annotations

import argparse

import trio
from hypercorn.config import Config
from hypercorn.trio import serve

from keeptrust_hf.testing.fake_hf import FakeHF


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--listen", default="127.0.0.1:18100")
    parser.add_argument("--map", action="append", default=[], metavar="HUB=PROVIDER:ID[:TASK]")
    args = parser.parse_args(argv)
    app = FakeHF()
    for item in args.map:
        hub, _, rest = item.partition("=")
        provider, provider_id, *task = rest.split(":", 2)
        app.add_mapping(hub, provider, provider_id, task=task[0] if task else "conversational")
    config = Config()
    config.bind = [args.listen]
    config.accesslog = None
    trio.run(serve, app, config)


if __name__ == "__main__":
    main()
