"""The console's read-only list of a tenant's rooms (what tenant admins looked up in the Django admin)."""

from __future__ import annotations

from meetings import services
from tests.conftest import warm_request_caches
from tests.meetings.helpers import make_room, make_series


def test_an_admin_sees_every_room_of_their_tenant_and_no_other(
    client, admin_user, host, outsider, tenant, other_tenant, django_assert_num_queries
):
    lecture = make_room(host, tenant, title="Constitutional law")
    make_series(lecture)
    old = make_room(host, tenant, title="Old seminar")
    services.archive_room(actor=host, room=old)
    make_room(outsider, other_tenant, title="ETH-only colloquium")
    client.force_login(admin_user)
    warm_request_caches(tenant)
    client.get("/uzh/manage/rooms/")
    # the tenant, the membership, the count and the page of rooms (with owners and series counts)
    with django_assert_num_queries(4):
        page = client.get("/uzh/manage/rooms/").content.decode()
    assert page.count('data-testid="room-row"') == 2
    assert "Constitutional law" in page and f'href="/uzh/r/{lecture.name}/"' in page
    assert "Old seminar" in page and "Archived" in page
    assert "lecturer@example.org" in page
    assert "ETH-only" not in page

    page = client.get("/uzh/manage/rooms/", {"q": "seminar"}).content.decode()
    assert page.count('data-testid="room-row"') == 1 and "Old seminar" in page
