"""Settings for the browser test's server: the portal's, plus a page including the live-count partial."""

from __future__ import annotations

from portal.settings import *  # noqa: F403 - the portal's settings, unchanged but for the URLconf

ROOT_URLCONF = "tests.meetings.live_page"
