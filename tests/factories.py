"""factory_boy factories for the models tests build on."""

from __future__ import annotations

import factory

from meetings.models import Room
from tenants.models import JitsiDeployment, Membership, Tenant, User


class TenantFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Tenant
        django_get_or_create = ("slug",)
        skip_postgeneration_save = True

    slug = factory.Sequence(lambda n: f"uni{n}")
    name = factory.LazyAttribute(lambda o: f"University {o.slug.upper()}")
    allowed_idps = factory.LazyAttribute(lambda o: [f"https://idp.{o.slug}.example.org/idp/shibboleth"])
    deployment = factory.RelatedFactory(
        "tests.factories.JitsiDeploymentFactory", factory_related_name="tenant"
    )


class JitsiDeploymentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = JitsiDeployment

    tenant = factory.SubFactory(TenantFactory, deployment=None)
    slug = factory.LazyAttribute(lambda o: o.tenant.slug)
    base_url = factory.LazyAttribute(lambda o: f"https://meet.{o.tenant.slug}.example.org")
    xmpp_domain = factory.LazyAttribute(lambda o: f"meet.{o.tenant.slug}.example.org")
    app_id = factory.LazyAttribute(lambda o: f"auditorium-{o.tenant.slug}")
    audience = "jitsi"
    algorithm = JitsiDeployment.Algorithm.HS256
    app_secret = factory.LazyAttribute(lambda o: f"app-secret-of-{o.tenant.slug}-0123456789abcdef0123")
    event_secret = factory.LazyAttribute(lambda o: f"event-secret-of-{o.tenant.slug}-0123456789")


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"person{n}")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    email = factory.LazyAttribute(lambda o: f"{o.username}@example.org")


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    tenant = factory.SubFactory(TenantFactory)
    role = Membership.Role.MEMBER


class RoomFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Room

    tenant = factory.SubFactory(TenantFactory)
    owner = factory.SubFactory(UserFactory)
    title = factory.Sequence(lambda n: f"Lecture hall {n}")
    name = factory.Sequence(lambda n: f"room-{n}-x7k2p9")
    access = Room.Access.TENANT
