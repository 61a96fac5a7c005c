"""Handing work to the worker. With PostgreSQL (RECORDINGS_JOBS=procrastinate) a job is a row written in the
caller's transaction, so it exists exactly when the change that asked for it was committed; a worker
(`manage.py procrastinate worker`) runs it. The embedded development setup (SQLite, `make run`) has no
worker: there the job runs in this process right after the commit.

The two ways are set by the app's ready() (meetings/recordings/apps.py), so that the services which ask for a
job do not import the jobs, which call the services back."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

Handover = Callable[[int], None]

defer_to_worker: Handover | None = None
run_after_commit: Handover | None = None


def process_recording(recording_id: int) -> None:
    handover = defer_to_worker if settings.RECORDINGS_JOBS == "procrastinate" else run_after_commit
    if handover is None:
        raise ImproperlyConfigured("the recordings app is not ready: no way to hand over jobs")
    handover(recording_id)
