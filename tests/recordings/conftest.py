from __future__ import annotations

import pytest

from meetings import services as room_services
from tenants import services as tenant_services
from tests.recordings.helpers import SECRET


@pytest.fixture(autouse=True)
def recording_dirs(settings, tmp_path):
    settings.RECORDINGS_UPLOAD_DIR = tmp_path / "spool"
    settings.RECORDINGS_ROOT = tmp_path / "stored"
    settings.STORAGES = {
        **settings.STORAGES,
        "recordings": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path / "stored")},
        },
    }
    # Django's own setting_changed receiver drops the cached storage backends.
    return tmp_path


@pytest.fixture
def recording_tenant(tenant):
    tenant_services.change_tenant(actor=None, tenant=tenant, recordings_enabled=True)
    dep = tenant.deployment
    dep.recording_secret = SECRET
    dep.save(update_fields=["recording_secret"])
    tenant.refresh_from_db()
    return tenant


@pytest.fixture
def room(recording_tenant, host):
    return room_services.create_room(
        actor=host, tenant=recording_tenant, title="Introduction to Law", allow_recording=True
    )
