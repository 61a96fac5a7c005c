"""The media server's routes: publish callbacks and the HLS viewing check (README "Live streams")."""

from __future__ import annotations

from typing import Any

from django.urls import path

from meetings.streams import hooks

urlpatterns: list[Any] = [
    path("streams/hooks/nginx-rtmp", hooks.nginx_rtmp, name="stream_hook_nginx"),
    path("streams/hooks/mediamtx", hooks.mediamtx, name="stream_hook_mediamtx"),
    path("streams/hls-auth", hooks.hls_auth, name="stream_hls_auth"),
]
