"""Factories and the session's tenants. Factories write in the connection's current schema."""

from __future__ import annotations

import factory
from django.contrib.auth import get_user_model
from django.core.cache import caches
from django.db import connection
from django.utils import timezone
from django_tenants.utils import schema_context

from billing.services import subscription_start
from branding.models import Brand
from tenants import provisioning
from tenants.models import BackupRecord, BulkImport, Domain, Organization, SupportGrant
from tenants.services import organization_create, organization_delete

OWNER_PASSWORD = "senha-forte-123"
SESSION_SLUGS = ("alpha", "beta")
# Tables emptied between live tests in the session tenants' schemas.
_KEEP_TABLES = provisioning.TEMPLATE_BOOKKEEPING_TABLES | {"accounts_user"}


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("email",)
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"agent{n}@example.com")
    name = factory.Faker("name", locale="pt_BR")
    role = "agent"

    @factory.post_generation
    def password(self, create, extracted, **kwargs):
        self.set_password(extracted or OWNER_PASSWORD)
        if create:
            self.save(update_fields=["password"])


def owner_email(slug: str) -> str:
    return f"owner@{slug}.example.com"


class SessionTenants:
    def __init__(self, organizations: dict[str, Organization]):
        self._orgs = organizations

    @classmethod
    def provision(cls) -> SessionTenants:
        if not connection.settings_dict["NAME"].startswith("test_"):
            raise RuntimeError(f"refusing to provision test tenants in {connection.settings_dict['NAME']!r}")
        orgs = {}
        for slug in SESSION_SLUGS:
            existing = Organization.objects.filter(slug=slug).first()  # a database kept from an earlier run
            if existing is not None:
                with schema_context(existing.schema_name):
                    owner, _ = get_user_model().objects.get_or_create(
                        email=owner_email(slug), defaults={"role": "owner"}
                    )
                    owner.set_password(OWNER_PASSWORD)
                    owner.save()
                orgs[slug] = existing
                continue
            orgs[slug] = organization_create(
                name=f"Empresa {slug.title()}",
                slug=slug,
                plan="professional",
                owner_email=owner_email(slug),
                owner_password=OWNER_PASSWORD,
                status=Organization.Status.ACTIVE,
                use_pool=False,
            )
        session = cls(orgs)
        reset_to_session_state(session)
        return session

    def get(self, slug: str) -> Organization:
        return Organization.objects.get(pk=self._orgs[slug].pk)

    @property
    def ids(self) -> set[int]:
        return {o.pk for o in self._orgs.values()}

    @property
    def all(self) -> list[Organization]:
        return list(self._orgs.values())


def reset_to_session_state(session: SessionTenants) -> None:
    """Remove what a committed test left: other organizations, pool, rows, cache."""
    assert connection.settings_dict["NAME"].startswith("test_"), "cleaning is for test databases only"
    extra = Organization.objects.exclude(pk__in=session.ids).order_by("-parent_id")
    # children before parents
    for org in sorted(extra, key=lambda o: o.parent_id is None):
        organization_delete(organization=org)
    provisioning.pool_empty()
    with connection.cursor() as cursor:  # billing's public rows of the session tenants
        cursor.execute(
            "TRUNCATE billing_usageevent, billing_meter, billing_limitalert, billing_limitoverride, "
            "billing_invoiceline, billing_creditentry, billing_adjustment, billing_billingnotice, billing_invoice, "
            "billing_invoicesequence, billing_partnerpricing, billing_subscription"
        )
    # Operators, in public. TRUNCATE … CASCADE rather than a queryset delete: Django's
    # cascade would also query tenant-only tables (chat's team members) that public lacks.
    with connection.cursor() as cursor:
        cursor.execute(f'TRUNCATE "public"."{get_user_model()._meta.db_table}" CASCADE')
    for org in session.all:
        Organization.objects.filter(pk=org.pk).update(
            status=Organization.Status.ACTIVE, kind=Organization.Kind.COMPANY, parent=None, plan_id=org.plan_id,
            created_at=timezone.now(),  # billing tests backdate it (a customer since before last month)
        )
        subscription_start(organization=Organization.objects.get(pk=org.pk), plan=org.plan)
        # public rows a test may have added for the session tenants (issue 5)
        Domain.objects.filter(tenant_id=org.pk, is_primary=False).delete()
        Brand.objects.filter(organization_id=org.pk).delete()
        SupportGrant.objects.filter(client_id=org.pk).delete()
        BulkImport.objects.filter(partner_id=org.pk).delete()
        BackupRecord.objects.filter(organization_id=org.pk).delete()
        with schema_context(org.schema_name), connection.cursor() as cursor:
            cursor.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = %s", [org.schema_name]
            )
            tables = [t for (t,) in cursor.fetchall() if t not in _KEEP_TABLES]
            if tables:
                cursor.execute("TRUNCATE " + ", ".join(f'"{t}"' for t in tables) + " CASCADE")
            get_user_model().objects.exclude(email=owner_email(org.slug)).delete()
    Brand.objects.filter(organization__isnull=True).delete()  # the platform default
    connection.set_schema_to_public()
    caches["default"].clear()


# --- issue 5: organization trees and logged-in clients for branding / console tests ---------


def make_organization(
    slug: str, *, kind: str = "company", parent=None, plan: str = "professional", status: str = "active", name=None
) -> Organization:
    """A committed-or-rolled-back organization (whatever the test's database fixture does)
    with an owner who can log in with OWNER_PASSWORD."""
    return organization_create(
        name=name or f"{slug.replace('-', ' ').title()} Ltda",
        slug=slug,
        kind=kind,
        parent=parent,
        plan=plan,
        owner_email=owner_email(slug),
        owner_password=OWNER_PASSWORD,
        status=status,
        use_pool=False,
    )


def logged_in(host: str, email: str, password: str = OWNER_PASSWORD):
    """A test client on `host`, logged in through the real login form."""
    from django.test import Client

    client = Client(HTTP_HOST=host)
    response = client.post("/accounts/login/", {"username": email, "password": password})
    assert response.status_code == 302, f"login of {email} on {host} failed"
    return client
