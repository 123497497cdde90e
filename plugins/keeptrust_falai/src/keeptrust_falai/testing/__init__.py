"""Test kit for the fal-ai backend: a fake fal (sync runs, queue, streams, CDN files) on loopback.

from keeptrust_falai.testing import FakeFal, JobPlan
from keeptrust.testing import serve_app

fake = FakeFal(prefix="/fal-ai")          # the router's fal route; FakeFal() is fal itself
server = serve_app(fake)                  # server.url, server.stop()
fake.plan_next(polls_in_queue=2, fail="out of memory")
"""

from keeptrust_falai.testing.fake import MP3, PNG, TRANSCRIPT, FakeFal, FalRequest, JobPlan

__all__ = ["MP3", "PNG", "TRANSCRIPT", "FakeFal", "FalRequest", "JobPlan"]
