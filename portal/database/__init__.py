"""PostgreSQL through Django's own backend, with what an outage needs (issue 12): see base.py and outage.py.

Selected by ENGINE = "portal.database" (portal/settings.py), Django's documented way to subclass a built-in
backend."""
