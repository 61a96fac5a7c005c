"""The two implementations of the count rules (meetings/live.py: one SQL statement for joins and leaves with a
count, the ORM services for everything) fed the same random deliveries must end in the same rows.

A simulated Prosody runs one room through lives (created, people join and leave, destroyed) and emits its
events with true counts; each event is delivered, held back (delivered later: reordering, "destroyed first"),
lost, or delivered again (duplicates), with or without its count. Every delivery goes to two deployments:
one through the SQL paths, one with the SQL paths off (the general services alone). After every step both
have the same outcomes, sessions (counts, versions, peaks, totals, times) and occupancies.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from itertools import count
from unittest import mock

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from meetings import events as ev
from meetings import live
from meetings.models import MeetingSession, Occupancy
from tests.factories import RoomFactory, TenantFactory

ROOM = "room1"
FATES = st.sampled_from(["deliver", "deliver", "deliver", "hold", "lose"])
_tenants = count()


def _general_only(sql, params):
    return None


class CountRules(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        n = next(_tenants)
        self.sql = TenantFactory(slug=f"rules-sql-{n}").deployment
        self.orm = TenantFactory(slug=f"rules-orm-{n}").deployment
        for deployment in (self.sql, self.orm):
            RoomFactory(tenant=deployment.tenant, name=ROOM)
        self.ref = ev.RoomRef(room_name=ROOM, room_jid=f"{ROOM}@conference.example.org", is_breakout=False)
        self.clock = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
        self.created_at: datetime | None = None
        self.present: dict[str, datetime] = {}
        self.people = count()
        self.sent: list[ev.Event] = []
        self.held: list[ev.Event] = []
        self.fast_answers = 0

    # the simulated Prosody

    def tick(self, seconds: int) -> datetime:
        self.clock += timedelta(seconds=seconds)
        return self.clock

    def emit(self, event: ev.Event, fate: str) -> None:
        self.sent.append(event)
        if fate == "deliver":
            self.deliver(event)
        elif fate == "hold":
            self.held.append(event)

    @rule(seconds=st.integers(0, 2), fate=FATES)
    @precondition(lambda self: self.created_at is None)
    def create(self, seconds, fate):
        self.created_at = self.tick(seconds)
        self.emit(ev.RoomCreated(room=self.ref, created_at=self.created_at), fate)

    @rule(seconds=st.integers(0, 2), fate=FATES, with_count=st.booleans())
    @precondition(lambda self: self.created_at is not None)
    def join(self, seconds, fate, with_count):
        jid = f"p{next(self.people)}@meet.example.org/x"
        self.present[jid] = at = self.tick(seconds)
        occupant = ev.Occupant(occupant_jid=jid, joined_at=at, left_at=None, participant_id=jid[:2])
        total = len(self.present) if with_count else None
        self.emit(ev.OccupantJoined(room=self.ref, occupant=occupant, active_occupants_count=total), fate)

    @rule(data=st.data(), seconds=st.integers(0, 2), fate=FATES, with_count=st.booleans())
    @precondition(lambda self: self.present)
    def leave(self, data, seconds, fate, with_count):
        jid = data.draw(st.sampled_from(sorted(self.present)))
        joined_at = self.present.pop(jid)
        occupant = ev.Occupant(
            occupant_jid=jid, joined_at=joined_at, left_at=self.tick(seconds), participant_id=jid[:2]
        )
        total = len(self.present) if with_count else None
        self.emit(ev.OccupantLeft(room=self.ref, occupant=occupant, active_occupants_count=total), fate)

    @rule(seconds=st.integers(0, 2), fate=FATES, list_occupants=st.booleans())
    @precondition(lambda self: self.created_at is not None)
    def destroy(self, seconds, fate, list_occupants):
        at = self.tick(seconds)
        occupants = tuple(
            ev.Occupant(occupant_jid=jid, joined_at=joined_at, left_at=None, participant_id=jid[:2])
            for jid, joined_at in self.present.items()
        )
        event = ev.RoomDestroyed(
            room=self.ref,
            created_at=self.created_at,
            destroyed_at=at,
            all_occupants=occupants if list_occupants else (),
        )
        self.created_at = None
        self.present = {}
        self.emit(event, fate)

    # the network

    @rule(data=st.data())
    @precondition(lambda self: self.held)
    def release(self, data):
        self.deliver(self.held.pop(data.draw(st.integers(0, len(self.held) - 1))))

    @rule(data=st.data(), drop_count=st.booleans())
    @precondition(lambda self: self.sent)
    def duplicate(self, data, drop_count):
        event = data.draw(st.sampled_from(self.sent))
        if drop_count and isinstance(event, ev.OccupantJoined | ev.OccupantLeft):
            event = replace(event, active_occupants_count=None)
        self.deliver(event)

    def deliver(self, event: ev.Event) -> None:
        fast = live._one_statement

        def counting(sql, params):
            outcome = fast(sql, params)
            self.fast_answers += outcome is not None
            return outcome

        with mock.patch.object(live, "_one_statement", counting):
            through_sql = live.record_event(deployment=self.sql, event=event)
        with mock.patch.object(live, "_one_statement", _general_only):
            through_orm = live.record_event(deployment=self.orm, event=event)
        assert (through_sql.changed, through_sql.count) == (through_orm.changed, through_orm.count), event

    # the rows

    @staticmethod
    def rows(deployment):
        sessions = list(
            MeetingSession.objects.filter(deployment=deployment)
            .order_by("id")
            .values_list(
                "id",
                "room__name",
                "room_name",
                "created_at",
                "destroyed_at",
                "current_count",
                "version",
                "peak_participants",
                "participant_seconds",
                "count_as_of",
            )
        )
        order = {row[0]: i for i, row in enumerate(sessions)}
        occupancies = sorted(
            (order[session_id], jid, joined_at, left_at, participant)
            for session_id, jid, joined_at, left_at, participant in Occupancy.objects.filter(
                deployment=deployment
            ).values_list("session_id", "occupant_jid", "joined_at", "left_at", "participant_id")
        )
        return [row[1:] for row in sessions], occupancies

    @invariant()
    def same_rows(self):
        assert self.rows(self.sql) == self.rows(self.orm)

    @invariant()
    def counts_are_never_negative(self):
        assert not MeetingSession.objects.filter(deployment=self.sql, current_count__lt=0).exists()


@pytest.mark.django_db
def test_sql_and_orm_count_rules_agree_on_random_deliveries():
    fast_paths_taken = []

    class Machine(CountRules):
        def teardown(self):
            fast_paths_taken.append(self.fast_answers)

    run_state_machine_as_test(
        Machine,
        settings=settings(
            max_examples=20,
            stateful_step_count=30,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
        ),
    )
    assert sum(fast_paths_taken) > 0  # the SQL paths really ran (else both sides were the ORM)
