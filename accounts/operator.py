"""Every change an operator makes in the admin, in two logs: the operator's own (the public
schema's AuditEntry, with the organizations concerned) and each concerned organization's
(its schema), where its owners read it.

accounts.middleware.AccountSecurityMiddleware takes a snapshot before an admin POST runs
(which model, which objects, which organizations: an object deleted by the request is gone
afterwards) and records it once the admin answered with a redirect, Django admin's answer to
a change it made; a form shown again with errors, or a confirmation page, changed nothing."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import connection
from django_tenants.utils import get_public_schema_name, get_tenant_model, schema_context

from accounts.audit import request_meta
from accounts.services import audit_record

logger = logging.getLogger(__name__)
MAX_OBJECTS = 50


@dataclass
class AdminAction:
    action: str  # admin.add | admin.change | admin.delete | admin.action | admin.other
    model: str  # app_label.model_name
    name: str  # the admin action's or view's name
    objects: list[str] = field(default_factory=list)  # "pk: str(obj)"
    organizations: list[tuple[str, str]] = field(default_factory=list)  # (schema, slug)


def _organizations_of(model, objects) -> list[tuple[str, str]]:
    tenant_model = get_tenant_model()
    found: dict[str, str] = {}
    if issubclass(model, tenant_model):
        for obj in objects:
            found[obj.schema_name] = obj.slug
        return list(found.items())
    fks = [f for f in model._meta.concrete_fields if f.is_relation and f.related_model is tenant_model]
    if not fks:
        return []
    ids = {getattr(obj, f.attname) for obj in objects for f in fks} - {None}
    for schema, slug in tenant_model.objects.filter(pk__in=ids).values_list("schema_name", "slug"):
        found[schema] = slug
    return list(found.items())


def admin_action_snapshot(request, view_func, view_kwargs) -> AdminAction | None:
    """What this admin POST is about to do, or None for anything that is not a model's page."""
    model_admin = getattr(view_func, "model_admin", None)
    match = getattr(request, "resolver_match", None)
    if model_admin is None or match is None:
        return None
    model = model_admin.model
    opts = model._meta
    prefix = f"{opts.app_label}_{opts.model_name}_"
    suffix = (match.url_name or "")[len(prefix):] if (match.url_name or "").startswith(prefix) else (match.url_name or "")
    ids: list[str] = []
    name = suffix
    if suffix in ("add",):
        action = "admin.add"
    elif suffix in ("change", "history"):
        action, ids = "admin.change", [str(view_kwargs.get("object_id", ""))]
    elif suffix == "delete":
        action, ids = "admin.delete", [str(view_kwargs.get("object_id", ""))]
    elif suffix == "changelist" and request.POST.get("action"):
        name = request.POST.get("action", "")[:100]
        action, ids = "admin.action", request.POST.getlist("_selected_action")[:MAX_OBJECTS]
        if name == "delete_selected":
            action = "admin.delete"
    elif suffix == "changelist":
        action = "admin.change"  # list_editable
    else:
        action = "admin.other"
        object_id = view_kwargs.get("object_id") or view_kwargs.get("pk")
        ids = [str(object_id)] if object_id else []
    objects = []
    if ids:
        try:
            objects = list(model_admin.get_queryset(request).filter(pk__in=[i for i in ids if i]))
        except (ValueError, TypeError, ValidationError):  # a malformed id: the admin refuses it itself
            objects = []
    return AdminAction(
        action=action, model=f"{opts.app_label}.{opts.model_name}", name=name,
        objects=[f"{obj.pk}: {obj}"[:120] for obj in objects] or [i for i in ids if i],
        organizations=_organizations_of(model, objects),
    )


def _schema_exists(name: str) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", [name])
        return cursor.fetchone() is not None


def admin_action_record(*, request, snapshot: AdminAction) -> None:
    """The operator's log entry (public schema) and one per organization concerned."""
    operator = request.user
    meta = request_meta(request)
    target = snapshot.objects[0] if len(snapshot.objects) == 1 else f"{snapshot.model} ×{len(snapshot.objects)}"
    detail = {"model": snapshot.model, "name": snapshot.name, "objects": snapshot.objects, "path": request.path[:200]}
    slugs = ", ".join(slug for _schema, slug in snapshot.organizations)
    with schema_context(get_public_schema_name()):
        audit_record(action=snapshot.action, actor=operator, target=target, detail=detail, tenant=slugs[:100], **meta)
    label = f"operador {operator.email}"
    for schema, _slug in snapshot.organizations:
        if not _schema_exists(schema):  # the organization this action deleted
            continue
        try:
            with schema_context(schema):
                audit_record(action=snapshot.action, actor=operator, actor_label=label, target=target, detail=detail,
                             **meta)
        except Exception:  # one organization's log must not undo the operator's change
            logger.exception("audit entry for %s in %s not written", snapshot.action, schema)
