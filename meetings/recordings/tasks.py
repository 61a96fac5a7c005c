"""Procrastinate tasks (imported by procrastinate's Django app; only with RECORDINGS_JOBS=procrastinate).

Run the worker with `manage.py procrastinate worker` (portal/deploy/systemd/auditorium-worker.service).
A job whose worker died (killed, host lost) is found by its worker's missing heartbeat and run again."""

from __future__ import annotations

import logging

from django.conf import settings
from django.utils import timezone
from django_scopes import scopes_disabled
from procrastinate import JobContext, RetryStrategy
from procrastinate.contrib.django import app

from meetings.recordings import jobs, services

log = logging.getLogger(__name__)

QUEUE = "recordings"


@app.task(name="recordings.process", queue=QUEUE, retry=RetryStrategy(max_attempts=8, exponential_wait=10))
def process_recording(recording_id: int) -> None:
    jobs.process_recording(recording_id)


@app.periodic(cron="17 3 * * *")
@app.task(name="recordings.purge", queue=QUEUE, queueing_lock="recordings.purge")
def purge_recordings(timestamp: int) -> None:
    with scopes_disabled():  # every institution's expired recordings
        count = services.purge_expired(now=timezone.now())
    log.info("purged %d expired recordings", count)


# croniter's six-field form: the last field counts seconds.
@app.periodic(cron=settings.RECORDINGS_STALLED_CRON)
@app.task(
    name="recordings.retry_stalled", queue=QUEUE, queueing_lock="recordings.retry_stalled", pass_context=True
)
async def retry_stalled_jobs(context: JobContext, timestamp: int) -> None:
    """Run again every job left `doing` by a worker that sent no heartbeat for RECORDINGS_STALLED_SECONDS."""
    stalled = await context.app.job_manager.get_stalled_jobs(
        seconds_since_heartbeat=settings.RECORDINGS_STALLED_SECONDS
    )
    for job in stalled:
        log.warning("job %s (%s) of a vanished worker runs again", job.id, job.task_name)
        await context.app.job_manager.retry_job(job)
