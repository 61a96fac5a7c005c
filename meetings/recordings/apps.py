from __future__ import annotations

from functools import partial

from django.apps import AppConfig
from django.db import transaction
from django.utils.translation import gettext_lazy as _


class RecordingsConfig(AppConfig):
    name = "meetings.recordings"
    label = "recordings"
    verbose_name = _("Recordings")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from meetings.recordings import enqueue, jobs

        def defer(recording_id: int) -> None:
            # Procrastinate's Django app is installed only with RECORDINGS_JOBS=procrastinate (PostgreSQL).
            from meetings.recordings import tasks

            tasks.process_recording.defer(recording_id=recording_id)

        def after_commit(recording_id: int) -> None:
            transaction.on_commit(partial(jobs.process_recording, recording_id), robust=True)

        enqueue.defer_to_worker = defer
        enqueue.run_after_commit = after_commit
