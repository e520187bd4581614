"""The demo `make run` shows: an operator, a partner with two clients, a direct customer
and its agents. Idempotent: what exists is left as it is."""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django_tenants.utils import schema_context

from tenants.models import Organization
from tenants.services import organization_create

DEMO_PASSWORD = "orbit-demo-2026"
ORGANIZATIONS = [
    # slug, name, kind, plan, parent
    ("parceiro", "Revenda Parceira", Organization.Kind.PARTNER, "white-label", None),
    ("cliente-um", "Cliente Um Ltda", Organization.Kind.COMPANY, "starter", "parceiro"),
    ("cliente-dois", "Cliente Dois S.A.", Organization.Kind.COMPANY, "professional", "parceiro"),
    ("acme", "Acme Atendimento", Organization.Kind.COMPANY, "business", None),
]
AGENTS = {"acme": ["ana@acme.example.com", "bruno@acme.example.com"]}


class Command(BaseCommand):
    help = "Create the demo organizations, operator and agents (idempotent)."

    def handle(self, *args, **options):
        User = get_user_model()
        if not User.objects.filter(email="admin@orbit.localhost").exists():
            User.objects.create_superuser("admin@orbit.localhost", DEMO_PASSWORD, name="Operador")
        for slug, name, kind, plan, parent in ORGANIZATIONS:
            org = Organization.objects.filter(slug=slug).first()
            if org is None:
                org = organization_create(
                    name=name, slug=slug, kind=kind, plan=plan, parent=parent,
                    owner_email=f"owner@{slug}.example.com", owner_password=DEMO_PASSWORD,
                    status=Organization.Status.ACTIVE,
                )
                self.stdout.write(f"created {slug}")
            with schema_context(org.schema_name):
                for email in AGENTS.get(slug, []):
                    if not User.objects.filter(email=email).exists():
                        User.objects.create_user(email, DEMO_PASSWORD, role=User.Role.AGENT)
