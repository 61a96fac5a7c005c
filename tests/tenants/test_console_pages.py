"""The console as admins use it: this week's overview, members edited inline with filters and paging, no
self-block, the audit log in words with filters, search and paging, usage charts fed the CSV's numbers,
and a branding preview that shows what the pages will show."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import UTC, datetime, timedelta

import pytest
from django.urls import reverse

from tenants import services
from tenants.models import AuditEntry, Branding, Membership
from tests.factories import MembershipFactory, UserFactory
from tests.tenants.console_world import build, many_audit_rows

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(tenant, admin_user):
    return build(tenant, admin_user)


@pytest.fixture
def admin(client, admin_user):
    client.force_login(admin_user)
    return client


def url(name, **kwargs):
    return reverse(f"console:{name}", kwargs={"tenant": "uzh", **kwargs})


def text_of(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


# Titles ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "title"),
    [
        ("overview", "Overview"),
        ("branding", "Branding"),
        ("members", "Members"),
        ("rooms", "Rooms"),
        ("statistics", "Usage"),
        ("audit", "Audit log"),
        ("deployment", "Jitsi and keys"),
    ],
)
def test_every_console_title_starts_with_the_page_name(admin, tenant, name, title):
    html = admin.get(url(name)).content.decode()
    found = re.search(r"<title>(.*?)</title>", html, re.S)
    assert found and found.group(1).strip() == f"{title} · Administration · University of Zurich"


# Overview -------------------------------------------------------------------------------------------------


def test_overview_shows_this_weeks_activity(admin, world, tenant):
    from tenants.console_activity import week_activity

    week = week_activity(tenant)
    assert week.usage.meetings > 0 and week.participants > 0
    html = admin.get(url("overview")).content.decode()
    for testid, value in [
        ("week-meetings", week.usage.meetings),
        ("week-participants", week.participants),
        ("week-new-members", 8),  # the admin, the lecturer and six students, all joined today
    ]:
        assert re.search(rf'data-testid="{testid}">{value}<', html), testid
    assert "Lena Lecturer created the room Algebra I." in text_of(html)


def test_week_counts_only_this_week_and_this_tenant(tenant, other_tenant, admin_user, outsider):
    from tenants.console_activity import week_activity
    from tests.meetings.helpers import make_room
    from tests.tenants.console_world import meeting

    # Thursday 3 December 2026, 12:00 in Zurich; the week began on Monday 30 November.
    now = datetime(2026, 12, 3, 11, 0, tzinfo=UTC)
    room = make_room(admin_user, tenant, title="Hall")
    meeting(tenant, room, datetime(2026, 11, 30, 8, 0, tzinfo=UTC), minutes=60, people=3)
    meeting(tenant, room, datetime(2026, 11, 29, 8, 0, tzinfo=UTC), minutes=60, people=5)  # last Sunday
    meeting(
        other_tenant, make_room(outsider, other_tenant, title="Elsewhere"), now - timedelta(hours=1), 30, 7
    )
    week = week_activity(tenant, now=now)
    assert (week.first.isoformat(), week.today.isoformat()) == ("2026-11-30", "2026-12-03")
    assert (week.usage.meetings, week.participants, week.usage.peak_concurrent) == (1, 3, 3)


# Members --------------------------------------------------------------------------------------------------


def test_a_role_changes_from_the_row_and_the_filters_are_kept(admin, world):
    chiara = world.students[2]
    back = url("members") + "?role=member&page=1"
    response = admin.post(url("member_role", public_id=chiara.public_id), {"role": "host", "next": back})
    assert response.status_code == 302 and response["Location"] == back
    assert Membership.objects.get(user=chiara).role == "host"
    entry = AuditEntry.objects.filter(action="membership.role_changed").first()
    assert entry is not None and entry.data == {"old": "member", "new": "host"}


def test_the_way_back_never_leaves_the_members_page(admin, world):
    for back in ["https://evil.example/", "//evil.example/uzh/manage/members/", "/uzh/manage/audit/"]:
        response = admin.post(
            url("member_role", public_id=world.students[3].public_id), {"role": "member", "next": back}
        )
        assert response["Location"] == url("members")


def test_no_block_button_and_no_role_select_on_ones_own_row(admin, world, admin_user):
    html = admin.get(url("members")).content.decode()
    rows = re.findall(r'<tr data-testid="member-row".*?</tr>', html, re.S)
    own = [r for r in rows if admin_user.get_display_name() in r]
    assert len(own) == 1
    assert "member_block" not in own[0] and "/block/" not in own[0] and 'name="role"' not in own[0]
    others = [r for r in rows if r is not own[0]]
    assert all("/block/" in r and 'name="role"' in r for r in others)
    # One form per row for the role, saved on change by static/js/console-members.js (its button for no-JS).
    assert all("data-auto-submit" in r and "data-no-js" in r for r in others)


def test_the_service_refuses_self_block(admin, admin_user, tenant):
    own = Membership.objects.get(user=admin_user, tenant=tenant)
    with pytest.raises(PermissionError):
        services.set_member_blocked(actor=admin_user, membership=own, blocked=True)
    response = admin.post(url("member_block", public_id=admin_user.public_id), {"blocked": "1"}, follow=True)
    assert "You cannot block yourself." in response.content.decode()
    own.refresh_from_db()
    assert not own.is_blocked
    assert not AuditEntry.objects.filter(action="membership.blocked").exists()


def test_members_filter_by_role_status_and_search(admin, world):
    def names(**query):
        html = admin.get(url("members"), query).content.decode()
        return sorted(re.findall(r'<th scope="row" data-label="Name">([^<]+)', html))

    assert names(status="blocked") == ["Anna Arnold"]
    assert "Anna Arnold" not in names(status="active")
    assert names(role="host") == ["Bruno Berger", "Lena Lecturer"]
    assert names(q="conti") == ["Chiara Conti"]
    assert names(q="student4@uzh") == ["Eva Egli"]
    assert admin.get(url("members"), {"status": "nonsense"}).status_code == 200  # ignored, not a 500


def test_members_are_paged_and_paging_keeps_the_filters(admin, tenant, world, settings):
    from tenants import console_views

    for n in range(console_views.PAGE_SIZE + 5):
        MembershipFactory(tenant=tenant, user=UserFactory(username=f"extra{n:03}", last_name=f"Zz{n:03}"))
    html = admin.get(url("members"), {"role": "member"}).content.decode()
    assert html.count('data-testid="member-row"') == console_views.PAGE_SIZE
    assert 'href="?role=member&amp;page=2"' in html
    second = admin.get(url("members"), {"role": "member", "page": 2}).content.decode()
    assert second.count('data-testid="member-row"') == 5 + 5  # five students are still members, and five more


# Audit log ------------------------------------------------------------------------------------------------


def audit_texts(client, **query) -> list[str]:
    html = client.get(url("audit"), query).content.decode()
    return [text_of(t).strip() for t in re.findall(r'<span class="audit-text">(.*?)</span>', html, re.S)]


def test_the_audit_log_reads_as_sentences_without_codes_or_ids(admin, world, tenant):
    html = admin.get(url("audit")).content.decode()
    lines = audit_texts(admin)
    assert "Lena Lecturer created the room Algebra I." in lines
    assert "An anonymous visitor started an open meeting." in lines
    admin_name = world.admin.get_display_name()
    assert f"{admin_name} blocked Anna Arnold." in lines
    assert f"{admin_name} made Bruno Berger a host." in lines
    body = text_of(html)
    for raw in [
        "room.created",
        "room.anonymous_created",
        "membership.",
        world.algebra.name,
        world.anonymous_room.name,
        "student0",
        "operator",
    ]:
        assert raw not in body, raw


def test_every_action_the_code_writes_has_a_sentence():
    import pathlib

    from tenants.audit_log import ACTIONS, SENTENCES

    root = pathlib.Path(__file__).resolve().parents[2]
    written = set()
    for path in [*root.glob("meetings/**/*.py"), *root.glob("tenants/**/*.py")]:
        written.update(re.findall(r'action="([a-z_]+\.[a-z_.]+)"', path.read_text()))
        written.update(re.findall(r'"(membership\.(?:un)?blocked)"', path.read_text()))
    assert written, "no audit actions found"
    assert written <= set(SENTENCES) and set(SENTENCES) == set(ACTIONS), written - set(SENTENCES)


def test_an_unknown_action_still_reads_as_a_sentence(admin, tenant, admin_user):
    services.audit(tenant=tenant, actor=admin_user, action="future.thing", target="x-7f3k")
    lines = audit_texts(admin)
    assert lines == [f"{admin_user.get_display_name()} made a change."]


def test_audit_filters_by_actor_action_and_date(admin, world, tenant):
    lena = world.lecturer
    assert audit_texts(admin, actor=str(lena.public_id)) == [
        "Lena Lecturer created the room Analysis II.",
        "Lena Lecturer created the room Algebra I.",
    ]
    assert audit_texts(admin, actor="anonymous") == ["An anonymous visitor started an open meeting."]
    assert audit_texts(admin, action="membership.blocked") == [
        f"{world.admin.get_display_name()} blocked Anna Arnold."
    ]
    # Dates are the tenant's local days.
    old = AuditEntry.objects.get(action="membership.blocked")
    AuditEntry.objects.filter(pk=old.pk).update(created_at=datetime(2026, 1, 10, 23, 30, tzinfo=UTC))
    assert audit_texts(admin, first="2026-01-11", last="2026-01-11") == [
        f"{world.admin.get_display_name()} blocked Anna Arnold."
    ]  # 00:30 on the 11th in Zurich
    assert audit_texts(admin, first="2026-01-10", last="2026-01-10") == []
    assert admin.get(url("audit"), {"first": "2026-02-01", "last": "2026-01-01"}).status_code == 400
    assert admin.get(url("audit"), {"actor": "not-a-member"}).status_code == 400


def test_audit_search_finds_room_titles_and_names(admin, world):
    assert audit_texts(admin, q="algebra") == ["Lena Lecturer created the room Algebra I."]
    assert audit_texts(admin, q="Arnold") == [f"{world.admin.get_display_name()} blocked Anna Arnold."]
    assert audit_texts(admin, q="nothing like this") == []


def test_audit_is_paged_and_paging_keeps_the_filters(admin, world, tenant, admin_user):
    from tenants import console_views

    many_audit_rows(tenant, admin_user, console_views.PAGE_SIZE + 3)
    first = admin.get(url("audit"), {"action": "branding.changed"}).content.decode()
    assert first.count('data-testid="audit-row"') == console_views.PAGE_SIZE
    assert 'href="?action=branding.changed&amp;page=2"' in first
    assert len(audit_texts(admin, action="branding.changed", page=2)) == 3


def test_audit_page_queries_do_not_grow_with_rows(
    admin, world, tenant, admin_user, django_assert_max_num_queries
):
    many_audit_rows(tenant, admin_user, 40)
    with django_assert_max_num_queries(16):
        assert admin.get(url("audit")).status_code == 200


# Usage charts ---------------------------------------------------------------------------------------------


def test_the_charts_draw_the_numbers_of_the_csv(admin, world):
    period = {
        "first": (datetime.now(UTC) - timedelta(days=29)).date().isoformat(),
        "last": datetime.now(UTC).date().isoformat(),
    }
    html = admin.get(url("statistics"), period).content.decode()
    found = re.search(r'<script id="usage-data" type="application/json">(.*?)</script>', html, re.S)
    assert found, "the page carries its chart data"
    chart = json.loads(found.group(1))
    download = admin.get(url("statistics"), {**period, "format": "csv"}).content.decode()
    rows = list(csv.DictReader(io.StringIO(download)))
    assert len(rows) == 30 == len(chart["days"])
    assert chart["days"] == [r["day"] for r in rows]
    for key in ("meetings", "participant_minutes", "peak_concurrent"):
        assert [float(v) for v in chart["series"][key]] == [float(r[key]) for r in rows], key
    assert sum(chart["series"]["meetings"]) == 20  # two of every three days
    # Chart.js itself is served from this site, with its licence, and the page loads no other origin.
    assert "/static/vendor/chartjs/chart.umd.min.js" in html and "https://" not in re.sub(
        r'href="https://[^"]*"', "", html.split("<main")[1]
    )


# Branding -------------------------------------------------------------------------------------------------


def test_the_branding_page_shows_saved_images_as_thumbnails_with_one_way_to_remove(
    admin, tenant, admin_user, settings, tmp_path
):
    from PIL import Image

    settings.MEDIA_ROOT = tmp_path
    buffer = io.BytesIO()
    Image.new("RGB", (60, 20), "#8a1538").save(buffer, "PNG")
    buffer.name = "logo.png"
    buffer.seek(0)
    response = admin.post(
        url("branding"),
        {
            "logo": buffer,
            "primary_colour": "#1f5fa8",
            "background_colour": "#f6f7f9",
            "welcome_text": "Welcome to **our** halls",
            "default_language": "de",
        },
    )
    assert response.status_code == 302, re.findall(
        r'<ul class="errorlist".*?</ul>', response.content.decode()
    )
    html = admin.get(url("branding")).content.decode()
    logo = Branding.objects.get(tenant=tenant).logo
    assert f'src="{logo.url}"' in html and 'data-testid="current-logo"' in html
    assert f'id="preview-logo" alt="" src="{logo.url}"' in html  # the preview keeps the saved logo
    assert "Currently:" not in html and "logo-clear" not in html and html.count('name="remove_logo"') == 1
    assert f">{logo.name}<" not in html
    # The preview shows the welcome text rendered like the home page, not as Markdown.
    assert "Welcome to <strong>our</strong> halls" in html and "**our**" not in html.split("<textarea")[0]


def test_the_preview_renders_markdown_through_the_pages_sanitiser(admin):
    from tenants.branding import render_welcome

    text = "Hello **world** <script>alert(1)</script> [x](javascript:alert(1))"
    answer = admin.post(url("branding_preview"), {"welcome_text": text})
    assert answer.status_code == 200
    assert answer.json()["html"] == render_welcome(text)
    assert "<strong>world</strong>" in answer.json()["html"] and "<script" not in answer.json()["html"]
    assert admin.get(url("branding_preview")).status_code == 405
    assert admin.post(url("branding_preview"), {"welcome_text": "x" * 100_000}).status_code == 400


def test_the_preview_is_for_admins_of_this_tenant_only(client, host, outsider, tenant):
    client.force_login(host)
    assert client.post(url("branding_preview"), {"welcome_text": "x"}).status_code == 403
    client.force_login(outsider)
    assert client.post(url("branding_preview"), {"welcome_text": "x"}).status_code == 404
