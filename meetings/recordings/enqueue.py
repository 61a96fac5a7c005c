"""Handing work to the worker. With PostgreSQL (RECORDINGS_JOBS=procrastinate) a job is a row written in the
caller's transaction, so it exists exactly when the change that asked for it was committed; a worker
(`manage.py procrastinate worker`) runs it. The embedded development setup (SQLite, `make run`) has no
worker: there the job runs in this process right after the commit."""

from __future__ import annotations

from functools import partial

from django.conf import settings
from django.db import transaction


def process_recording(recording_id: int) -> None:
    if settings.RECORDINGS_JOBS == "procrastinate":
        from meetings.recordings import tasks

        tasks.process_recording.defer(recording_id=recording_id)
    else:
        from meetings.recordings import jobs

        transaction.on_commit(partial(jobs.process_recording, recording_id), robust=True)
