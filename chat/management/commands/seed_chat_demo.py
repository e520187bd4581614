"""The demo customer's chat setup, so `make run` has a working widget and inbox: an inbox
"Site da Acme", a team "Suporte" with the demo agents, labels and two canned responses.
Idempotent: what exists is left as it is."""

import os

from django.core.management.base import BaseCommand, CommandError
from django_tenants.utils import get_tenant_model, tenant_context

from chat import selectors
from chat.services import settings as services

INBOX = "Site da Acme"
TEAM = "Suporte"
AGENTS = ["ana@acme.example.com", "bruno@acme.example.com"]
LABELS = [("vip", "#d97706"), ("dúvida", "#2563eb"), ("reclamação", "#dc2626")]
CANNED = [
    ("ola", "Olá! Obrigado por falar com a Acme. Em que posso ajudar?"),
    ("obrigado", "Obrigado pelo contato! Se precisar de algo mais, é só chamar."),
]


class Command(BaseCommand):
    help = "Create the demo customer's inbox, team, labels and canned responses (idempotent)."

    def add_arguments(self, parser):
        parser.add_argument("--slug", default="acme")
        parser.add_argument("--port", default=os.environ.get("ORBIT_PORT", "8000"))
        parser.add_argument("--base-domain", default=os.environ.get("ORBIT_BASE_DOMAIN", "localhost"))

    def handle(self, *args, slug, port, base_domain, **options):
        try:
            organization = get_tenant_model().objects.get(slug=slug)
        except get_tenant_model().DoesNotExist:
            raise CommandError(f"no organization {slug!r}: run seed_demo first") from None
        with tenant_context(organization):
            agents = list(selectors.assignable_agents().filter(email__in=AGENTS))
            team = selectors.team_list().filter(name=TEAM).first()
            if team is None:
                team = services.team_create(name=TEAM, members=agents)
                self.stdout.write(f"{slug}: team {TEAM}")
            inbox = selectors.inbox_list().filter(name=INBOX).first()
            if inbox is None:
                inbox = services.inbox_create(
                    name=INBOX,
                    greeting="Olá! 👋 Como podemos ajudar?",
                    allowed_origins=[f"http://{base_domain}:{port}", f"http://{slug}.{base_domain}:{port}"],
                    prechat_fields=[{"name": "name", "required": False}, {"name": "email", "required": True}],
                    auto_assign=True,
                    auto_assign_capacity=5,
                    auto_assign_team=team,
                    auto_resolve_after=None,
                )
                self.stdout.write(f"{slug}: inbox {INBOX} (key {inbox.public_key})")
            existing = {label.name for label in selectors.label_list()}
            for name, colour in LABELS:
                if name not in existing:
                    services.label_create(name=name, colour=colour)
            shortcuts = set(selectors.canned_responses().values_list("shortcut", flat=True))
            for shortcut, text in CANNED:
                if shortcut not in shortcuts:
                    services.canned_response_create(shortcut=shortcut, text=text)
            self.stdout.write(
                f"Widget test page: http://{slug}.{base_domain}:{port}/settings/chat/inboxes/{inbox.pk}/preview"
            )
