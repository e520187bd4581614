"""People of one tenant (the current schema): invite, roles, deactivation, language, the
partner's support identity, and the audit log. The only writers of accounts' rows.

accounts sits below branding, billing and tenants: what it needs from them comes in as
arguments (a seat check, the brand's mail settings), never as an import."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.mail import EmailMultiAlternatives
from django.core.validators import validate_email
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from django.utils.translation import gettext as _
from django_tenants.utils import schema_context

from accounts.audit import USER_AGENT_MAX, audit_entries, csv_lines, request_meta
from accounts.audit import written as audit_written
from accounts.models import ApiToken, AuditEntry
from accounts.tokens import password_reset_token
from orbit.lib.text import header_unsafe

User = get_user_model()
INVITABLE_ROLES = (User.Role.ADMIN, User.Role.AGENT)
MAX_API_TOKENS = 20  # per person
API_TOKEN_NAME_MAX = ApiToken._meta.get_field("name").max_length


class UserRefused(Exception):
    """The change was refused; the message is for the person who asked."""


@dataclass(frozen=True)
class MailContext:
    """How the tenant's e-mails look: built by the caller from the effective brand."""

    base_url: str  # e.g. https://acme.chat.partner.com.br
    company_name: str
    from_email: str | None = None
    reply_to: list[str] = field(default_factory=list)


SeatCheck = Callable[[], str | None]  # returns why no seat is free, or None


# --- audit ---------------------------------------------------------------------------


def audit_record(
    *,
    action: str,
    actor=None,
    actor_label: str = "",
    target: str = "",
    detail: dict | None = None,
    request=None,
    ip: str | None = None,
    user_agent: str = "",
    tenant: str = "",
) -> AuditEntry:
    """One entry in the current schema's audit log. `request` (or `ip` and `user_agent`)
    says where from; `tenant`, in the public schema's log, which organization it concerned."""
    email = getattr(actor, "email", "") or ""
    if not actor_label and getattr(actor, "is_support", False):
        actor_label = actor.name
    if request is not None:
        meta = request_meta(request)
        ip = ip or meta["ip"]
        user_agent = user_agent or meta["user_agent"]
    recorded = audit_written.get()
    if recorded is not None:
        recorded.append(action)
    return AuditEntry.objects.create(
        action=action, actor_email=email[:254], actor_label=actor_label[:200], target=(target or "")[:254],
        detail=detail or {}, ip=ip or None, user_agent=(user_agent or "")[:USER_AGENT_MAX], tenant=(tenant or "")[:100],
    )


def audit_download(*, request, filename: str) -> None:
    """A file handed out as an attachment that no view recorded: an export (reports, invoices,
    data). On the platform host it lands in the operator's own log."""
    audit_record(action="export.download", actor=request.user, target=filename or request.path[:254],
                 detail={"path": request.path[:200]}, request=request)


def audit_export_lines(*, filters, actor, request=None, schema: str, entries=None):
    """Record the export, then return the CSV's lines (accounts.audit.csv_lines), produced
    lazily inside `schema`: a streamed body is read after the view returned, when the
    connection is no longer on the tenant's schema."""
    audit_record(action="audit.export", actor=actor, target=filters.query() or "*", request=request)

    def lines():
        with schema_context(schema):
            yield from csv_lines(entries if entries is not None else audit_entries(filters=filters))

    return lines()


# --- e-mails -------------------------------------------------------------------------


def _send(*, to: str, subject_template: str, body_template: str, context: dict, mail: MailContext, language: str):
    with translation.override(language or settings.LANGUAGE_CODE):
        subject = " ".join(render_to_string(subject_template, context).split())
        body = render_to_string(body_template, context)
    message = EmailMultiAlternatives(subject, body, mail.from_email or settings.DEFAULT_FROM_EMAIL, [to], reply_to=mail.reply_to)
    message.send()


def set_password_link(*, user, base_url: str) -> str:
    """A one-time link (the password-reset token, bound to this schema) to choose a password."""
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    token = password_reset_token.make_token(user)
    return base_url.rstrip("/") + reverse("accounts:password_reset_confirm", kwargs={"uidb64": uid, "token": token})


def user_send_welcome(*, user, mail: MailContext, invited_by_name: str = "") -> None:
    """Send (after commit) the e-mail inviting `user` to choose a password."""
    context = {
        "user": user,
        "company_name": mail.company_name,
        "invited_by": invited_by_name,
        "link": set_password_link(user=user, base_url=mail.base_url),
        "login_url": mail.base_url.rstrip("/") + reverse("accounts:login"),
    }
    language = user.language or translation.get_language() or settings.LANGUAGE_CODE
    transaction.on_commit(
        lambda: _send(
            to=user.email,
            subject_template="accounts/invite_subject.txt",
            body_template="accounts/invite_email.txt",
            context=context,
            mail=mail,
            language=language,
        )
    )


# --- people --------------------------------------------------------------------------


def _normalise_email(email: str) -> str:
    email = (email or "").strip().lower()
    try:
        validate_email(email)
    except ValidationError:
        raise UserRefused(_("Informe um e-mail válido.")) from None
    return email


@transaction.atomic
def user_invite(
    *, email: str, name: str = "", role: str, invited_by, seat_check: SeatCheck, mail: MailContext
) -> User:
    """Create a person with no usable password and e-mail them a link to choose one."""
    email = _normalise_email(email)
    if role not in INVITABLE_ROLES:
        raise UserRefused(_("Papel inválido."))
    if User.objects.filter(email__iexact=email).exists():
        raise UserRefused(_("Já existe uma pessoa com este e-mail nesta conta."))
    refusal = seat_check()
    if refusal:
        raise UserRefused(refusal)
    user = User.objects.create_user(email, None, name=(name or "").strip()[:150], role=role)
    audit_record(action="user.invite", actor=invited_by, target=email, detail={"role": role})
    user_send_welcome(user=user, mail=mail, invited_by_name=getattr(invited_by, "name", "") or "")
    return user


def person_managed(user_id: int, actor) -> User:
    user = User.objects.select_for_update().filter(pk=user_id).exclude(role=User.Role.SUPPORT).first()
    if user is None:
        raise User.DoesNotExist
    if user.pk == actor.pk:
        raise UserRefused(_("Você não pode alterar o seu próprio acesso."))
    if user.role == User.Role.OWNER:
        raise UserRefused(_("O proprietário da conta não pode ser alterado aqui."))
    if user.role == User.Role.ADMIN and actor.role != User.Role.OWNER:
        raise UserRefused(_("Só o proprietário pode alterar administradores."))
    return user


@transaction.atomic
def user_set_role(*, user_id: int, role: str, actor) -> User:
    """Raises User.DoesNotExist (also for support identities) or UserRefused."""
    if role not in INVITABLE_ROLES:
        raise UserRefused(_("Papel inválido."))
    if role == User.Role.ADMIN and actor.role != User.Role.OWNER:
        raise UserRefused(_("Só o proprietário pode promover administradores."))
    user = person_managed(user_id, actor)
    if user.role != role:
        previous = user.role
        user.role = role
        user.save(update_fields=["role"])
        audit_record(action="user.role", actor=actor, target=user.email, detail={"from": previous, "to": role})
    return user


@transaction.atomic
def user_deactivate(*, user_id: int, actor) -> User:
    """The person can no longer log in; their history stays."""
    user = person_managed(user_id, actor)
    if user.is_active:
        user.is_active = False
        user.save(update_fields=["is_active"])
        audit_record(action="user.deactivate", actor=actor, target=user.email)
    return user


@transaction.atomic
def user_reactivate(*, user_id: int, actor, seat_check: SeatCheck) -> User:
    user = person_managed(user_id, actor)
    if not user.is_active:
        refusal = seat_check()
        if refusal:
            raise UserRefused(refusal)
        user.is_active = True
        user.save(update_fields=["is_active"])
        audit_record(action="user.reactivate", actor=actor, target=user.email)
    return user


def user_set_language(*, user, language: str) -> None:
    codes = {code for code, _label in settings.LANGUAGES}
    if language not in codes:
        raise UserRefused(_("Idioma não disponível."))
    if user.language != language:
        user.language = language
        user.save(update_fields=["language"])


@transaction.atomic
def support_identity_enter(*, email: str, name: str, detail: dict) -> User:
    """The support identity a partner's staff uses in this tenant (created on first use),
    and the audit entry of this entry. It has no password: only a support link logs in."""
    user = User.objects.filter(email__iexact=email).first()
    if user is None:
        user = User.objects.create_user(email, None, name=name[:150], role=User.Role.SUPPORT)
    elif not user.is_support:
        raise UserRefused(_("Este e-mail pertence a uma pessoa da conta."))
    else:
        user.name = name[:150]
        user.is_active = True
        user.save(update_fields=["name", "is_active"])
    audit_record(action="support.enter", actor=user, actor_label=name, target=email, detail=detail)
    return user


# --- personal API tokens ---------------------------------------------------------------


class ApiTokenRefused(Exception):
    """The token was not created; the message is for the person who asked."""


def _may_hold_tokens(user) -> bool:
    # A partner's support identity is a temporary visit: a token would outlive it.
    return bool(user.pk) and user.is_active and not user.is_support


@transaction.atomic
def api_token_create(*, user, name: str) -> tuple[ApiToken, str]:
    """A personal API token for `user` (websockets and the API, as that user).

    Returns the row and the clear token, which is shown once and never stored (only its
    SHA-256 and its first characters are). Refused (ApiTokenRefused, nothing written) for an
    empty or too long name, past MAX_API_TOKENS, or for a support identity."""
    name = " ".join((name or "").split())
    if not name:
        raise ApiTokenRefused(_("Dê um nome ao token."))
    if header_unsafe(name):  # NUL, a lone surrogate or another control character
        raise ApiTokenRefused(_("O nome contém caracteres inválidos."))
    if len(name) > API_TOKEN_NAME_MAX:
        raise ApiTokenRefused(_("O nome pode ter no máximo %(max)d caracteres.") % {"max": API_TOKEN_NAME_MAX})
    # The person's row, locked: two creations at once cannot both pass the count below.
    holder = User.objects.select_for_update().filter(pk=user.pk).first()
    if holder is None or not _may_hold_tokens(holder):
        raise ApiTokenRefused(_("Esta conta não pode criar tokens de API."))
    if ApiToken.objects.filter(user=holder).count() >= MAX_API_TOKENS:
        raise ApiTokenRefused(
            _("Você já tem %(max)d tokens, o máximo. Revogue um que não use mais para criar outro.") % {"max": MAX_API_TOKENS}
        )
    token, clear = ApiToken.objects.issue(user=holder, name=name)
    audit_record(action="api_token.create", actor=holder, target=name, detail={"token": token.pk, "prefix": token.prefix})
    return token, clear


@transaction.atomic
def api_token_revoke(*, user, token_id: int) -> ApiToken:
    """Delete one of `user`'s own tokens: it stops authenticating at once, and a socket
    already open with it closes at its next heartbeat (chat's agent consumer re-checks).
    Raises ApiToken.DoesNotExist when the token is missing or someone else's, alike."""
    token = ApiToken.objects.select_for_update().filter(pk=token_id, user_id=user.pk).first()
    if token is None:
        raise ApiToken.DoesNotExist
    detail = {"token": token.pk, "prefix": token.prefix}
    token.delete()
    audit_record(action="api_token.revoke", actor=user, target=token.name, detail=detail)
    return token
