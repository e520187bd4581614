"""The tenant owner's data page: export all the tenant's data (CSV per table and files, in
a zip) and download earlier exports through short-lived signed links."""

from __future__ import annotations

from django.core.files.storage import default_storage
from django.db import connection
from django.http import FileResponse, Http404, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_safe

from accounts.services import audit_record
from orbit.lib import storage as stored
from tenants.data import archive, downloads, tabular
from tenants.views.access import tenant_admin_required


@tenant_admin_required
@require_http_methods(["GET", "POST"])
def index(request):
    if request.method == "POST":
        with archive.workdir() as work:
            name = tabular.tenant_data_zip(organization=request.tenant, workdir=work)
        audit_record(action="tenant.data_export", actor=request.user, target=name.rsplit("/", 1)[-1])
        return redirect("tenant_data:index")
    exports = [{"name": n.rsplit("/", 1)[-1], "size": s, "url": downloads.download_url(n)}
               for n, s in tabular.tenant_data_exports(organization=request.tenant)]
    return render(request, "tenants/settings/data.html", {"exports": exports, "section": "data"})


@tenant_admin_required
@require_safe
def download(request, token: str):
    name = downloads.name_from_token(token)
    if name is None or stored.schema_of(name) != connection.schema_name:
        raise Http404
    url = stored.signed_url(name, seconds=60, filename=name.rsplit("/", 1)[-1])
    if url:
        return HttpResponseRedirect(url)
    try:
        handle = default_storage.open(name, "rb")
    except FileNotFoundError:
        raise Http404 from None
    response = FileResponse(handle, as_attachment=True, filename=name.rsplit("/", 1)[-1])
    response["Cache-Control"] = "private, no-store"
    return response
