"""The player page in Chromium: the video loads from the signed Range view and seeking moves currentTime."""

from __future__ import annotations

import pytest
from django.utils import timezone

from meetings import services as room_services
from meetings.recordings import storage
from meetings.recordings.models import Recording
from tenants import services as tenant_services
from tests.browser_support import ARTIFACTS
from tests.recordings.helpers import make_mp4

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def published(settings, tmp_path, tenant, host):
    settings.STORAGES = {
        **settings.STORAGES,
        "recordings": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path / "stored")},
        },
    }
    tenant_services.change_tenant(actor=None, tenant=tenant, recordings_enabled=True)
    room = room_services.create_room(
        actor=host, tenant=tenant, title="Introduction to Law", allow_recording=True
    )
    video = make_mp4(tmp_path / "seek.mp4", seconds=8, size="1280x720")  # wider than a phone
    with video.open("rb") as f:
        name = storage.recording_storage().save(f"uzh/{room.name}/seek.mp4", f)
    return Recording.objects.create(
        tenant=tenant,
        room=room,
        title="Week 3",
        file=name,
        sha256="0" * 64,
        size_bytes=video.stat().st_size,
        ended_at=timezone.now(),
        status=Recording.Status.READY,
        duration_seconds=8.0,
        visibility=Recording.Visibility.LINK,
    )


def test_video_plays_and_seeks(page, live_server, published) -> None:
    url = live_server.url.replace("127.0.0.1", "localhost") + f"/uzh/recordings/{published.code}/"
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto(url)
    video = page.locator('[data-testid="recording-video"]')
    video.wait_for()
    page.wait_for_function("document.querySelector('video').readyState >= 1", timeout=15_000)
    duration = page.evaluate("document.querySelector('video').duration")
    assert 7.5 < duration < 8.5
    page.evaluate(
        """() => new Promise((resolve) => {
            const v = document.querySelector('video');
            v.addEventListener('seeked', () => resolve(v.currentTime), {once: true});
            v.currentTime = 5;
        })"""
    )
    assert abs(page.evaluate("document.querySelector('video').currentTime") - 5) < 0.6
    ARTIFACTS.mkdir(exist_ok=True)
    page.set_viewport_size({"width": 360, "height": 800})
    page.screenshot(path=str(ARTIFACTS / "recording-player-360.png"), full_page=True)
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    assert not [e for e in errors if "Content Security Policy" in e]
