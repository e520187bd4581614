"""Partner console: bulk import of clients from a CSV, run row by row by a Celery task."""

from __future__ import annotations

from celery import current_app
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from tenants import bulk
from tenants.models import BulkImport, Organization
from tenants.provisioning import ProvisioningError
from tenants.services.partners import ClientRefused, _require_partner, partner_client_create


@transaction.atomic
def bulk_import_start(
    *, partner: Organization, data: bytes, actor
) -> BulkImport:
    """Check the whole CSV, then queue its rows (created by a Celery task, row by row).

    Raises bulk.BulkFileError (nothing queued) or ClientRefused."""
    _require_partner(partner)
    rows = bulk.parse_bulk_upload(data)
    missing = [str(row.number) for row in rows if not row.fields.get("owner_email")]
    if missing:
        raise bulk.BulkFileError(_("nada foi criado: informe owner_email nas linhas %(rows)s") % {"rows": ", ".join(missing[:10])})
    job = BulkImport.objects.create(
        partner=partner,
        created_by_email=getattr(actor, "email", "") or "",
        rows=[{"number": row.number, "fields": row.fields} for row in rows],
        total=len(rows),
    )
    transaction.on_commit(lambda: _enqueue_bulk_import(job.pk))
    return job


# Celery's name of the import task (tenants.tasks registers it; enqueued by name: a message on
# the queue, so services need not import the tasks that call them).
BULK_IMPORT_TASK = "tenants.tasks.bulk_import_run"


def _enqueue_bulk_import(job_id: int) -> None:
    current_app.send_task(BULK_IMPORT_TASK, args=[job_id])


def bulk_import_run(*, job_id: int) -> BulkImport:
    """Create the queued rows, committing progress after each one; safe to run again
    (it resumes after the last processed row)."""
    connection.set_schema_to_public()
    with transaction.atomic():
        job = BulkImport.objects.select_for_update().get(pk=job_id)
        if job.status == BulkImport.Status.DONE:
            return job
        job.status = BulkImport.Status.RUNNING
        job.save(update_fields=["status"])
    partner = job.partner
    for row in job.rows[job.processed :]:
        fields = row["fields"]
        result = {"row": row["number"], "name": fields.get("name", ""), "ok": False, "slug": "", "error": ""}
        try:
            client = partner_client_create(
                partner=partner,
                name=fields["name"],
                plan=fields["plan"],
                slug=fields.get("slug"),
                owner_email=fields["owner_email"],
            )
        except (ProvisioningError, ClientRefused, IntegrityError) as exc:
            result["error"] = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        else:
            result.update(ok=True, slug=client.slug)
        connection.set_schema_to_public()
        job.results = [*job.results, result]
        job.processed += 1
        job.save(update_fields=["results", "processed"])
    job.status = BulkImport.Status.DONE
    job.finished_at = timezone.now()
    job.save(update_fields=["status", "finished_at"])
    return job
