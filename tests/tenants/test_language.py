"""Which language a person sees (tenants/language.py), the header's switcher, and what follows the choice.

These run without the portal's own catalogues: `<html lang>`, Django's and DRF's own translations (month
names, weekdays, DRF's error messages) show which language is active."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from django.test import Client
from django.utils import translation

from meetings import schedule
from portal import formats
from tenants import services
from tenants.language import browser_languages, supported
from tenants.models import Branding, TenantHost
from tests.factories import RoomFactory


def lang(response) -> str:
    found = re.search(r'<html lang="([^"]*)">', response.content.decode())
    assert found, response.content[:500]
    return found.group(1)


def with_default(tenant, language: str) -> None:
    Branding.objects.update_or_create(tenant=tenant, defaults={"default_language": language})


# --- the order ------------------------------------------------------------------------------------------


def test_tenant_default_when_nothing_else_decides(client, tenant):
    with_default(tenant, "it")
    assert lang(client.get("/uzh/")) == "it"
    assert lang(client.get("/uzh/", HTTP_ACCEPT_LANGUAGE="ja, ko;q=0.5")) == "it"  # none we speak
    assert lang(client.get("/")) == "en"  # no tenant: the site's language


def test_tenant_default_on_the_tenants_own_host(client, tenant, settings):
    from tenants.middleware import forget_hosts

    settings.ALLOWED_HOSTS = ["meet.uzh.example.ch", "testserver"]
    TenantHost.objects.create(tenant=tenant, host="meet.uzh.example.ch")
    with_default(tenant, "fr")
    forget_hosts()
    try:
        assert lang(client.get("/", HTTP_HOST="meet.uzh.example.ch")) == "fr"
    finally:
        forget_hosts()


def test_a_changed_default_applies_at_once(client, tenant, admin_user, django_capture_on_commit_callbacks):
    assert lang(client.get("/uzh/")) == "en"
    with django_capture_on_commit_callbacks(execute=True):
        services.change_branding(actor=admin_user, tenant=tenant, changes={"default_language": "de"})
    assert lang(client.get("/uzh/")) == "de"


def test_accept_language_beats_the_tenant_default(client, tenant):
    with_default(tenant, "it")
    assert lang(client.get("/uzh/", HTTP_ACCEPT_LANGUAGE="de-CH,de;q=0.9,en;q=0.8")) == "de"
    assert lang(client.get("/uzh/", HTTP_ACCEPT_LANGUAGE="ja, fr-CH;q=0.4, en;q=0.6")) == "en"
    assert lang(client.get("/uzh/", HTTP_ACCEPT_LANGUAGE="en;q=0, fr")) == "fr"


def test_cookie_beats_accept_language(client, tenant):
    client.cookies["django_language"] = "fr"
    response = client.get("/uzh/", HTTP_ACCEPT_LANGUAGE="de-CH")
    assert lang(response) == "fr"
    assert response["Content-Language"] == "fr"
    assert "Accept-Language" in response["Vary"] and "Cookie" in response["Vary"]
    client.cookies["django_language"] = "klingon"  # junk is ignored
    assert lang(client.get("/uzh/", HTTP_ACCEPT_LANGUAGE="de-CH")) == "de"


def test_signed_in_order_profile_cookie_identity_browser(client, tenant, member):
    client.force_login(member)
    member.preferred_language = "fr-CH"  # as edu-ID released it
    member.save()
    assert lang(client.get("/uzh/", HTTP_ACCEPT_LANGUAGE="de")) == "fr"  # edu-ID beats the browser
    client.cookies["django_language"] = "it"
    assert lang(client.get("/uzh/", HTTP_ACCEPT_LANGUAGE="de")) == "it"  # a saved choice beats edu-ID
    services.set_preferred_language(actor=member, user=member, language="de")
    # The profile beats a cookie (perhaps left by someone else on this browser).
    assert lang(client.get("/uzh/", HTTP_ACCEPT_LANGUAGE="fr")) == "de"
    client.logout()  # the test client forgets its cookies too
    client.cookies["django_language"] = "it"
    assert lang(client.get("/uzh/", HTTP_ACCEPT_LANGUAGE="fr")) == "it"  # signed out: the cookie again


def test_refusal_pages_and_the_development_idp_speak_the_chosen_language(client, db, settings):
    client.cookies["django_language"] = "de"
    unknown = client.get("/nowhere/")
    assert unknown.status_code == 404 and lang(unknown) == "de"
    settings.PORTAL_DEV_IDP = True
    assert lang(client.get("/dev-idp/sso/")) in {"de"}  # the IdP's page (a refusal without a request)


def test_the_api_follows_accept_language_only(client, tenant, member):
    # DRF's own catalogue translates its messages (the portal's follow with the portal's catalogues).
    client.force_login(member)
    english = client.delete("/api/v1/rooms/")
    assert english.status_code == 405, english.content
    assert english.json()["error"]["message"] == 'Method "DELETE" not allowed.'
    german = client.delete("/api/v1/rooms/", HTTP_ACCEPT_LANGUAGE="de-CH")
    assert german.status_code == 405 and german["Content-Language"] == "de"
    assert german.json()["error"]["message"] == 'Methode "DELETE" nicht erlaubt.'
    assert german.json()["error"]["code"] == english.json()["error"]["code"]  # codes stay English
    client.cookies["django_language"] = "fr"  # the switcher's cookie and the profile do not decide here
    services.set_preferred_language(actor=member, user=member, language="it")
    again = client.delete("/api/v1/rooms/")
    assert again.json()["error"]["message"] == 'Method "DELETE" not allowed.'
    assert again["Content-Language"] == "en"


def test_parsing_accept_language():
    assert browser_languages("fr;q=0.5, de-CH, *;q=0.1, en;q=0.9") == ["de-CH", "en", "fr"]
    assert browser_languages("de;q=abc, it;q=nan, fr;q=2, en") == ["en"]
    assert browser_languages("x" * 10_000) == ["x" * 500]
    assert [supported(c) for c in ("de-CH", "DE_ch", "fr-ca", "it", "en-GB", "rm", "", None)] == [
        "de",
        "de",
        "fr",
        "it",
        "en",
        None,
        None,
        None,
    ]


# --- the switcher ---------------------------------------------------------------------------------------


def test_header_switcher_is_on_every_page_and_marks_the_current_language(client, tenant):
    body = client.get("/uzh/", HTTP_ACCEPT_LANGUAGE="fr").content.decode()
    start = body.index('data-testid="language-switcher"')
    form = body[start : body.index("</form>", start)]
    assert 'action="/accounts/language/"' in body and "csrfmiddlewaretoken" in form
    for code, name in (("en", "English"), ("de", "Deutsch"), ("fr", "français"), ("it", "italiano")):
        assert f'value="{code}" lang="{code}"' in form
        assert name.lower() in form.lower()
    assert re.search(r'value="fr"[^>]*aria-current="true"', form)
    assert len(re.findall("aria-current", form)) == 1
    assert 'name="next" value="/uzh/"' in form


def test_guest_switches_language_with_a_cookie(tenant):
    client = Client(enforce_csrf_checks=True)
    assert client.get("/uzh/").status_code == 200
    token = client.cookies["csrftoken"].value
    response = client.post(
        "/accounts/language/", {"language": "it", "next": "/uzh/", "csrfmiddlewaretoken": token}
    )
    assert response.status_code == 302 and response["Location"] == "/uzh/"
    cookie = response.cookies["django_language"]
    assert cookie.value == "it" and cookie["max-age"] == 365 * 24 * 3600 and cookie["samesite"] == "Lax"
    assert lang(client.get("/uzh/", HTTP_ACCEPT_LANGUAGE="de")) == "it"


def test_switching_needs_csrf_and_post_and_a_known_language(client, tenant):
    strict = Client(enforce_csrf_checks=True)
    assert strict.post("/accounts/language/", {"language": "de"}).status_code == 403
    assert client.get("/accounts/language/").status_code == 405
    refused = client.post("/accounts/language/", {"language": "tlh", "next": "/uzh/"})
    assert refused.status_code == 400 and b"Unknown language" in refused.content
    assert "django_language" not in refused.cookies


@pytest.mark.parametrize(
    "target", ["https://evil.example.org/", "//evil.example.org/x", "javascript:alert(1)", ""]
)
def test_switcher_never_sends_people_elsewhere(client, db, target):
    response = client.post("/accounts/language/", {"language": "de", "next": target})
    assert response.status_code == 302 and response["Location"] == "/"


def test_signed_in_switch_is_saved_on_the_profile(client, tenant, member):
    member.preferred_language = "fr"
    member.save()
    client.force_login(member)
    response = client.post("/accounts/language/", {"language": "it", "next": "/uzh/lectures/"})
    assert response["Location"] == "/uzh/lectures/"
    member.refresh_from_db()
    assert (member.interface_language, member.preferred_language) == ("it", "fr")
    other = Client()  # another browser, no cookie: the profile decides
    other.force_login(member)
    assert lang(other.get("/uzh/", HTTP_ACCEPT_LANGUAGE="de")) == "it"


def test_set_preferred_language_service(member, host):
    with pytest.raises(ValueError):
        services.set_preferred_language(actor=member, user=member, language="xx")
    with pytest.raises(PermissionError):
        services.set_preferred_language(actor=host, user=member, language="de")
    services.set_preferred_language(actor=member, user=member, language="de")
    member.refresh_from_db()
    assert member.interface_language == "de"
    services.set_preferred_language(actor=member, user=member, language="")
    member.refresh_from_db()
    assert member.interface_language == ""


# --- Jitsi and formats ----------------------------------------------------------------------------------


def test_meeting_page_passes_the_language_to_jitsi(client, tenant, host, member):
    from tests.meetings.join_helpers import meeting_options

    room = RoomFactory(tenant=tenant, owner=host, name="algebra-7q3")
    client.force_login(member)
    client.cookies["django_language"] = "it"
    response = client.get(f"/uzh/r/{room.name}/")
    assert lang(response) == "it"
    assert 'data-lang="it"' in response.content.decode()
    assert meeting_options(response)["lang"] == "it"


MONDAY = datetime(2026, 12, 7, 9, 15, tzinfo=UTC)  # 10:15 in Zurich


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("en", "Monday, 7 December 2026, 10:15\u201311:45"),
        ("de", "Montag, 7. Dezember 2026, 10:15\u201311:45"),
        ("fr", "lundi 7 décembre 2026, 10\u00a0h\u00a015\u201311\u00a0h\u00a045"),
        ("it", "lunedì 7 dicembre 2026, 10:15\u201311:45"),
    ],
)
def test_one_style_of_lecture_times_per_language(language, expected):
    end = MONDAY + timedelta(minutes=90)
    with translation.override(language):
        assert formats.span(MONDAY, end, "Europe/Zurich", viewer_zone="Europe/Zurich") == expected
        assert formats.clock(MONDAY, "Europe/London", viewer_zone="Europe/Zurich").endswith(
            " (Europe/London)"
        )
        assert "(" not in formats.moment(MONDAY, "Europe/Zurich", viewer_zone="Europe/Zurich")


def test_numbers_and_spans_over_midnight():
    with translation.override("de"):
        assert formats.number(12345) == "12\u2019345"
        zurich = "Europe/Zurich"
        late = formats.span(MONDAY, MONDAY + timedelta(hours=16), zurich, viewer_zone=zurich)
        assert late == "Montag, 7. Dezember 2026, 10:15 \u2013 Dienstag, 8. Dezember 2026, 02:15"
    with translation.override("fr"):
        assert formats.number(12345) == "12\u202f345"
    with translation.override("en"):
        assert formats.number(12345) == "12,345"
        assert formats.stamp(MONDAY, "Europe/Zurich") == "2026-12-07 10:15"


def test_opening_time_on_a_closed_room_in_the_page_language(client, tenant, host, member, monkeypatch):
    opens_at = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
    monkeypatch.setattr(
        schedule, "join_window", lambda room, now: schedule.JoinWindow(is_open=False, opens_at=opens_at)
    )
    room = RoomFactory(tenant=tenant, owner=host, name="late-lecture")
    client.force_login(member)
    body = client.get(f"/uzh/r/{room.name}/", HTTP_ACCEPT_LANGUAGE="de-CH").content.decode()
    assert "Montag, 7. Dezember 2026, 10:00" in body
    body = client.get(f"/uzh/r/{room.name}/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Monday, 7 December 2026, 10:00." in body and "a.m." not in body


def test_lecture_pages_use_the_one_style_and_name_a_foreign_zone(client, tenant, host, member):
    from tests.meetings.helpers import make_room, make_series

    room = make_room(host, tenant, title="Algebra")
    today = datetime.now(UTC).date()
    series = make_series(room, first_date=today + timedelta(days=7 - today.weekday()), count=2)
    client.force_login(host)
    page = f"/uzh/rooms/{room.name}/series/{series.code}/"
    german = client.get(page, HTTP_ACCEPT_LANGUAGE="de").content.decode()
    assert re.search(r"Montag, \d+\. \w+ \d{4}, \d\d:\d\d\u2013\d\d:\d\d</time>", german), german
    assert "(Europe/" not in german
    series.time_zone = "Europe/London"
    series.save()
    english = client.get(page, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert re.search(r"Monday, \d+ \w+ \d{4}, \d\d:\d\d\u2013\d\d:\d\d \(Europe/London\)</time>", english)


def test_djangos_own_error_pages_speak_the_chosen_language(tenant):
    client = Client(enforce_csrf_checks=True)
    client.cookies["django_language"] = "fr"
    missing = client.get("/uzh/nothing/here/")
    assert missing.status_code == 404 and lang(missing) == "fr"
    assert b"Page introuvable" in missing.content and b"<script" not in missing.content
    refused = client.post("/accounts/language/", {"language": "de"})  # no CSRF token
    assert refused.status_code == 403 and lang(refused) == "fr"
    assert "Le formulaire a expiré" in refused.content.decode()


def test_prosodys_calls_are_answered_in_the_site_language_whatever_a_page_left_active(db, settings):
    """The lean /jitsi/ handler runs no middleware; a language a page activated in this thread stays out."""
    from meetings import event_views
    from tests.conftest import keep_test_connection
    from tests.factories import TenantFactory
    from tests.meetings.prosody import raw, scenario
    from tests.test_machine_handler import call

    settings.ALLOWED_HOSTS = ["testserver"]
    TenantFactory(slug="demo", name="Demo University")
    event_views.forget_deployments()
    rec = scenario("basic")[0]
    with keep_test_connection():  # real WSGI calls on this test's connection
        english = call("POST", rec["request"]["path"], raw(rec), authorization="Bearer wrong")
        translation.activate("it")  # as a page for an Italian reader leaves this thread
        try:
            after_a_page = call("POST", rec["request"]["path"], raw(rec), authorization="Bearer wrong")
        finally:
            translation.deactivate()
            event_views.forget_deployments()
    assert english[0] == after_a_page[0] == 401
    assert after_a_page[2] == english[2] and b"event secret" in english[2]


def test_a_pages_own_requests_do_not_decide_from_the_person(
    client, tenant, member, django_assert_num_queries
):
    """The JavaScript catalogue answers in the language its page asked for (`?lang=`), and the tenant's
    stylesheet in none: neither loads the signed-in person (twice more per page view otherwise)."""
    member.interface_language = "de"
    member.save(update_fields=["interface_language"])
    client.force_login(member)
    catalogue = client.get("/jsi18n/?lang=fr")
    assert catalogue.status_code == 200 and catalogue.headers["Content-Language"] == "fr"
    sheet = client.get(f"/{tenant.slug}/branding.css")
    assert sheet.status_code in (200, 304) and sheet.headers["Content-Language"] == "en"
    assert client.get(f"/{tenant.slug}/").headers["Content-Language"] == "de"  # pages follow the profile
