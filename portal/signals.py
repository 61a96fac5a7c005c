"""Signals of this project's own, so that models tell caches about changes without importing them."""

from __future__ import annotations

from django.dispatch import Signal

# Sent by a QuerySet.update() that Django's post_save does not see, before the update, with
# `rows`: the values the receivers need of every row it changes (see the sender's queryset).
bulk_updated = Signal()
