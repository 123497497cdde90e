"""A local OpenAI-compatible upstream: the quick-start's model and the test suite's fake."""

from keeptrust.demo.upstream import FakeOpenAI, Fault

__all__ = ["FakeOpenAI", "Fault"]
