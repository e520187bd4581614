"""The operator's command line for organizations.

    manage.py tenant create --name "Empresa X" --plan professional [--slug …] [--kind …]
                            [--parent SLUG] [--domain HOST] [--owner-email …] [--owner-password …]
    manage.py tenant list [--filter STATUS] [--parent SLUG] [--format table|json]
    manage.py tenant show SLUG
    manage.py tenant suspend SLUG | activate SLUG
    manage.py tenant delete SLUG --yes
    manage.py tenant create-bulk FILE.csv
    manage.py tenant backup SLUG | backups SLUG [--format json] | restore SLUG --backup ID [--into NEW_SLUG]
    manage.py tenant export SLUG --to FILE_OR_S3_URL | import FILE_OR_S3_URL [--slug …] | restore-drill SLUG

Each subcommand parses its input, calls a selector or service and renders the result.
The rules (valid slugs, plans, parents, domains; all-or-nothing provisioning) live in
tenants.services, whose ProvisioningError messages are written for a person: they are
passed on as the command's single error line."""

from __future__ import annotations

import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.db import IntegrityError
from django.utils import timezone
from tqdm import tqdm

from orbit.lib.errors import OrbitError, command_error
from tenants import selectors, services
from tenants.bulk import BULK_OPTIONAL_COLUMNS, BulkFileError, BulkRow, parse_bulk_csv
from tenants.data import DataError
from tenants.data import services as data
from tenants.models import Organization
from tenants.provisioning import ProvisioningError

LIST_COLUMNS = ("slug", "name", "kind", "status", "plan", "parent", "primary domain")


class Command(BaseCommand):
    help = "Create, list, show, suspend, activate and delete organizations (tenants)."

    def add_arguments(self, parser):
        subcommands = parser.add_subparsers(dest="subcommand", required=True, metavar="SUBCOMMAND")

        create = subcommands.add_parser("create", help="create one organization with its schema, domain and owner")
        create.add_argument("--name", required=True)
        create.add_argument("--plan", required=True, help="plan code, e.g. starter, professional")
        create.add_argument("--slug", help="default: derived from the name")
        create.add_argument("--kind", choices=Organization.Kind.values, default=Organization.Kind.COMPANY)
        create.add_argument("--parent", metavar="SLUG", help="the partner or holding it belongs to")
        create.add_argument("--domain", metavar="HOST", help="a custom domain besides <slug>.<base domain>")
        create.add_argument("--owner-email", help="default: owner@<slug>.<base domain>")
        create.add_argument(
            "--owner-password", help="default: none usable; the owner sets one through a password reset"
        )

        listing = subcommands.add_parser("list", help="list organizations")
        listing.add_argument("--filter", choices=Organization.Status.values, dest="status", help="only this status")
        listing.add_argument("--parent", metavar="SLUG", help="only the sub-organizations of SLUG")
        listing.add_argument("--format", choices=("table", "json"), default="table")

        show = subcommands.add_parser("show", help="one organization in detail")
        show.add_argument("slug", metavar="SLUG")

        suspend = subcommands.add_parser("suspend", help="block an organization's pages, API and widget; data is kept")
        suspend.add_argument("slug", metavar="SLUG")

        activate = subcommands.add_parser("activate", help="set an organization active")
        activate.add_argument("slug", metavar="SLUG")

        delete = subcommands.add_parser("delete", help="drop an organization's schema and every row it owns")
        delete.add_argument("slug", metavar="SLUG")
        delete.add_argument("--yes", action="store_true", help="confirm: the data cannot be recovered")

        add_data_subcommands(subcommands)

        bulk = subcommands.add_parser(
            "create-bulk",
            help="create organizations from a CSV file",
            description=(
                "CSV with a header row: name,plan and optionally "
                + ",".join(BULK_OPTIONAL_COLUMNS)
                + ". The whole file is checked before anything is created. Each row is created on its own; "
                "a row that fails is reported (rows numbered as in a spreadsheet, the header is row 1) "
                "and the others go on."
            ),
        )
        bulk.add_argument("file", metavar="FILE.csv", type=Path)

    def handle(self, *args, **options):
        handlers = {
            "create": self.create_organization,
            "list": self.list_organizations,
            "show": self.show_organization,
            "suspend": self.suspend_organization,
            "activate": self.activate_organization,
            "delete": self.delete_organization,
            "create-bulk": self.create_organizations_from_csv,
            **{name: (lambda opts, name=name: data_subcommand(self, name, opts)) for name in DATA_SUBCOMMANDS},
        }
        handlers[options["subcommand"]](options)

    # --- subcommands ------------------------------------------------------------------

    def create_organization(self, options) -> None:
        try:
            organization = services.organization_create(
                name=options["name"],
                plan=options["plan"],
                slug=options["slug"],
                kind=options["kind"],
                parent=options["parent"],
                domain=options["domain"],
                owner_email=options["owner_email"],
                owner_password=options["owner_password"],
            )
        except OrbitError as exc:  # ProvisioningError and every other refusal
            raise command_error(exc) from exc
        self.stdout.write(created_line(organization))

    def list_organizations(self, options) -> None:
        if options["parent"]:
            # A mistyped parent must not read as "it has no sub-organizations".
            self._organization(options["parent"])
        organizations = list(selectors.organization_list(status=options["status"], parent_slug=options["parent"]))
        if options["format"] == "json":
            self.stdout.write(json.dumps([listing_entry(org) for org in organizations], indent=2))
        elif not organizations:
            self.stdout.write("no organizations match")
        else:
            self.stdout.write(render_table(LIST_COLUMNS, [table_row(org) for org in organizations]))

    def show_organization(self, options) -> None:
        try:
            organization = selectors.organization_detail(slug=options["slug"])
        except Organization.DoesNotExist:
            raise CommandError(unknown_slug(options["slug"])) from None
        domains = ", ".join(
            domain.domain
            + (" (primary)" if domain.is_primary else "")
            + ("" if domain.is_verified else " (unverified)")
            for domain in organization.domains.all()
        )
        details = [
            ("slug", organization.slug),
            ("name", organization.name),
            ("kind", organization.kind),
            ("status", organization.status),
            ("status since", local_time(organization.status_changed_at)),
            ("plan", organization.plan.code),
            ("parent", organization.parent.slug if organization.parent else "-"),
            ("children", str(organization.children_count)),
            ("schema", organization.schema_name),
            ("domains", domains or "-"),
            ("created", local_time(organization.created_at)),
        ]
        width = max(len(label) for label, _ in details) + 1
        self.stdout.write("\n".join(f"{label + ':':<{width}} {value}" for label, value in details))

    def suspend_organization(self, options) -> None:
        organization = services.organization_suspend(organization=self._organization(options["slug"]))
        self.stdout.write(f"{organization.slug}: {organization.status}")

    def activate_organization(self, options) -> None:
        organization = services.organization_activate(organization=self._organization(options["slug"]))
        self.stdout.write(f"{organization.slug}: {organization.status}")

    def delete_organization(self, options) -> None:
        slug = options["slug"]
        if not options["yes"]:
            raise CommandError(f"not deleting {slug!r}: its schema and data cannot be recovered; add --yes to confirm")
        organization = self._organization(slug)
        try:
            services.organization_delete(organization=organization)
        except OrbitError as exc:  # ProvisioningError and every other refusal
            raise command_error(exc) from exc
        self.stdout.write(f"deleted {slug} (schema {organization.schema_name} dropped)")

    def create_organizations_from_csv(self, options) -> None:
        rows = read_bulk_file(options["file"])
        # The bar redraws itself with carriage returns; Django's wrappers would add a newline to each write.
        out, err = raw_stream(self.stdout), raw_stream(self.stderr)
        failed_rows = []
        with tqdm(total=len(rows), desc="creating", unit="org", file=err) as bar:
            for row in rows:
                # organization_create is atomic by itself: a failed row leaves nothing and the others go on.
                try:
                    organization = services.organization_create(**row.fields)
                except (ProvisioningError, IntegrityError) as exc:
                    failed_rows.append(row.number)
                    # IntegrityError: a concurrent creation took the slug or domain after the checks.
                    reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
                    bar.write(f"row {row.number}: {reason}", file=err)
                else:
                    bar.write(created_line(organization), file=out)
                bar.update()
        summary = f"created {len(rows) - len(failed_rows)}, failed {len(failed_rows)}"
        if failed_rows:
            label = "row" if len(failed_rows) == 1 else "rows"
            raise CommandError(f"{summary} ({label} {', '.join(map(str, failed_rows))})")
        self.stdout.write(summary)

    # --- helpers ----------------------------------------------------------------------

    def _organization(self, slug: str) -> Organization:
        try:
            return selectors.organization_get(slug=slug)
        except Organization.DoesNotExist:
            raise CommandError(unknown_slug(slug)) from None


def unknown_slug(slug: str) -> str:
    return f"no organization with slug {slug!r}"


def created_line(organization: Organization) -> str:
    host = organization.get_primary_domain()
    return f"created {organization.slug}  schema={organization.schema_name}  host={host.domain if host else '-'}"


def listing_entry(organization: Organization) -> dict:
    return {
        "slug": organization.slug,
        "name": organization.name,
        "kind": organization.kind,
        "status": organization.status,
        "plan": organization.plan.code,
        "parent": organization.parent.slug if organization.parent else None,
        "primary_domain": organization.primary_domain,
        "schema": organization.schema_name,
        "created_at": organization.created_at.isoformat(),
    }


def table_row(organization: Organization) -> list[str]:
    return [
        organization.slug,
        organization.name,
        organization.kind,
        organization.status,
        organization.plan.code,
        organization.parent.slug if organization.parent else "-",
        organization.primary_domain or "-",
    ]


def render_table(headers: tuple[str, ...], rows: list[list[str]]) -> str:
    lines = [list(headers), *rows]
    widths = [max(len(cell) for cell in column) for column in zip(*lines, strict=True)]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip() for line in lines
    )


def local_time(moment) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M %Z") if moment else "-"


def raw_stream(wrapper):
    return getattr(wrapper, "_out", wrapper)


def read_bulk_file(path: Path) -> list[BulkRow]:
    """Every row of the file as organization_create arguments, or CommandError naming what
    is wrong (the checks live in tenants.bulk, shared with the partner console)."""
    try:
        # utf-8-sig: spreadsheets save CSV with a byte-order mark.
        with path.open(encoding="utf-8-sig", newline="") as handle:
            return parse_bulk_csv(handle)
    except FileNotFoundError:
        raise CommandError(f"{path}: no such file") from None
    except UnicodeDecodeError:
        raise CommandError(f"{path}: not UTF-8 text") from None
    except BulkFileError as exc:
        raise CommandError(f"{path}: {exc}") from None
    except OSError as exc:
        raise CommandError(f"{path}: {exc}") from None


# --- tenant data (issue 15): backup, backups, restore, export, import, restore-drill --------

DATA_SUBCOMMANDS = ("backup", "backups", "restore", "export", "import", "restore-drill")


def add_data_subcommands(subcommands) -> None:
    backup = subcommands.add_parser("backup", help="back up one organization now (encrypted, checksummed)")
    backup.add_argument("slug", metavar="SLUG")
    backup.add_argument("--kind", choices=("manual", "daily", "weekly", "monthly"), default="manual")

    backups = subcommands.add_parser("backups", help="list an organization's backups")
    backups.add_argument("slug", metavar="SLUG")
    backups.add_argument("--format", choices=("table", "json"), default="table")

    restore = subcommands.add_parser(
        "restore", help="restore a backup into the organization (after a safety backup) or into a new one"
    )
    restore.add_argument("slug", metavar="SLUG")
    restore.add_argument("--backup", required=True, metavar="ID", help="an id from `tenant backups SLUG`")
    restore.add_argument("--into", metavar="NEW_SLUG", help="a new organization under its own schema")

    export = subcommands.add_parser("export", help="write an organization (data and files) to move it elsewhere")
    export.add_argument("slug", metavar="SLUG")
    export.add_argument("--to", required=True, metavar="FILE_OR_S3_URL", help="a file path or s3://bucket/key")

    imp = subcommands.add_parser("import", help="create an organization from an export")
    imp.add_argument("source", metavar="FILE_OR_S3_URL")
    imp.add_argument("--slug", help="default: the exported organization's slug")

    drill = subcommands.add_parser(
        "restore-drill", help="restore the latest backup into a scratch schema, check it, time it, drop it"
    )
    drill.add_argument("slug", metavar="SLUG")
    drill.add_argument("--backup", metavar="ID")


def data_subcommand(command: Command, name: str, options) -> None:
    out = command.stdout.write
    try:
        if name == "import":
            result = data.tenant_import(source=options["source"], slug=options["slug"], actor_label="operador (CLI)")
            out(f"imported {result.organization.slug}  schema={result.schema}  tables={result.tables}  "
                f"rows={result.rows}  files={result.files_copied}" + _missing_note(result.files_missing))
            if result.migrated:
                out(f"migrated after loading: {', '.join(result.migrated)}")
            return
        organization = command._organization(options["slug"])
        if name == "backup":
            entry = data.backup_create(organization=organization, kind=options["kind"])
            out(f"backup {entry.id}  kind={entry.kind}  size={entry.size}  tables={entry.tables}  "
                f"rows={entry.rows}  files={entry.files}  sha256={entry.sha256}")
        elif name == "backups":
            entries = data.backup_list(organization=organization)
            if options["format"] == "json":
                out(json.dumps([{"id": e.id, "time": e.created_at, "size": e.size, "kind": e.kind, "sha256": e.sha256,
                                 "note": e.note} for e in entries], indent=2))
            elif not entries:
                out(f"{organization.slug} has no backups")
            else:
                out(render_table(("id", "time", "size", "kind", "note"), [
                    [e.id, local_time(e.moment), str(e.size), e.kind, e.note or "-"] for e in entries]))
        elif name == "restore":
            result = data.tenant_restore(organization=organization, backup_id=options["backup"], into=options["into"],
                                         actor_label="operador (CLI)")
            if options["into"]:
                out(f"restored {options['backup']} of {organization.slug} into {result.organization.slug}  "
                    f"schema={result.schema}  tables={result.tables}  rows={result.rows}  "
                    f"files={result.files_copied}" + _missing_note(result.files_missing))
            else:
                out(f"restored {options['backup']} into {organization.slug}  tables={result.tables}  "
                    f"rows={result.rows}  safety backup={result.safety_backup}" + _missing_note(result.files_missing))
        elif name == "export":
            result = data.tenant_export(organization=organization, to=options["to"])
            out(f"exported {organization.slug} to {result['to']}  size={result['size']}  files={result['files']}  "
                f"sha256={result['sha256']}")
        elif name == "restore-drill":
            drill = data.restore_drill(organization=organization, backup_id=options["backup"])
            out(f"drill of {organization.slug} backup {drill.backup_id}: {drill.tables} tables, {drill.rows} rows equal; "
                f"{drill.files_checked - len(drill.files_missing)}/{drill.files_checked} files match; "
                f"RTO {drill.seconds:.2f} s")
            if drill.files_missing:
                raise CommandError(f"{len(drill.files_missing)} files missing or changed, e.g. {drill.files_missing[0]}")
    except DataError as exc:
        raise CommandError(str(exc)) from exc


def _missing_note(missing: list[str]) -> str:
    return f"  MISSING FILES={len(missing)} (e.g. {missing[0]})" if missing else ""
