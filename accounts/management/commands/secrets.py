"""Secrets at rest (accounts.crypto, accounts.secrets).

    manage.py secrets generate-key      print a new ORBIT_SECRETS_KEY
    manage.py secrets status            which key wrote how many stored secrets
    manage.py secrets rotate [--dry-run]  re-encrypt everything with ORBIT_SECRETS_KEY

Rotating: put the new key in ORBIT_SECRETS_KEY and the previous one in
ORBIT_SECRETS_OLD_KEYS (everything stays readable), run `secrets rotate`, and drop the old
key once `secrets status` shows only the new key id."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from accounts import crypto
from accounts.secrets import secrets_rotate, secrets_status


class Command(BaseCommand):
    help = "Encrypted secrets at rest: generate a key, show status, rotate to the current key."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="subcommand", required=True, metavar="SUBCOMMAND")
        sub.add_parser("generate-key", help="print a new key for ORBIT_SECRETS_KEY")
        sub.add_parser("status", help="stored secrets per table and key id")
        rotate = sub.add_parser("rotate", help="re-encrypt every stored secret with ORBIT_SECRETS_KEY")
        rotate.add_argument("--dry-run", action="store_true", help="count, change nothing")

    def handle(self, *args, subcommand, **options):
        if subcommand == "generate-key":
            self.stdout.write(crypto.generate_key())
            return
        try:
            current = crypto.current_key_id()
        except Exception as exc:  # a malformed key in the environment: one clear line
            raise CommandError(str(exc)) from None
        if subcommand == "status":
            self.stdout.write(f"current key id: {current}")
            for column, counts in secrets_status().items():
                parts = ", ".join(f"{kid}: {n}" for kid, n in sorted(counts.items())) or "empty"
                self.stdout.write(f"{column}: {parts}")
            return
        report = secrets_rotate(dry_run=options["dry_run"])
        verb = "would re-encrypt" if options["dry_run"] else "re-encrypted"
        self.stdout.write(
            f"{verb} {report.rewritten}, already on key {current}: {report.current}, schemas: {report.schemas}"
        )
        if report.failed:
            shown = ", ".join(report.failed[:20])
            raise CommandError(
                f"{len(report.failed)} value(s) no configured key opens (add the key that wrote them to "
                f"ORBIT_SECRETS_OLD_KEYS): {shown}"
            )
