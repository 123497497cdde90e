"""The hook keeptrust-hf adds for its own sub-plugins: Inference Providers backends.

``keeptrust-hf`` plugs into the core through ``register_providers``; backends plug into
``keeptrust-hf`` the same way, through ``register_hf_backends``. A backend plugin (``keeptrust-falai``)
is an ordinary keeptrust plugin: a module published under the entry-point group ``keeptrust``
whose ``@keeptrust.hookimpl`` functions include this hook::

    from keeptrust import hookimpl
    from keeptrust_hf.backend import Backend

    class FalAI(Backend):
        name = "fal-ai"
        ...

    @hookimpl
    def register_hf_backends(register):
        register(FalAI)

The spec is added to the gateway's plugin manager before plugins are checked (``plugin.py`` names
this module in ``KEEPTRUST_HOOKSPECS``), so a misspelt hook or argument fails at start-up.
"""

from __future__ import annotations

from collections.abc import Callable

import pluggy

hookspec = pluggy.HookspecMarker("keeptrust")


@hookspec
def register_hf_backends(register: Callable[[type], None]) -> None:
    """Register Hugging Face Inference Providers backends, such as ``groq`` or ``fal-ai``.

    Call ``register(BackendClass)`` once per backend; the class subclasses
    ``keeptrust_hf.backend.Backend`` and sets ``name`` (the provider name the Hub mapping API and
    the router use, e.g. ``fal-ai``), ``operations`` (what it can do, as keeptrust operation
    constants) and ``tasks`` (the Hub task its mapping entries carry for each operation).

    Runs once per gateway, when the first ``huggingface`` target is built (through
    ``keeptrust.plugins.Registry.extension``, with the core's registration rules). Registering a
    name that is already registered is a start-up error naming both plugins. See ``BACKEND_API.md``.
    """
