"""Two-factor authentication (TOTP through django-otp, and recovery codes), per schema.

* Anyone can turn it on for themselves; an organization's owner can require it of everyone
  in the organization, and a partner's owner of everyone in every client (a client's
  requirement follows its partner's setting); operators on the platform host always need
  it (settings.ORBIT_2FA_OPERATORS). A partner's support identity is exempt: it enters
  only through a link its partner's (verified) staff issued.
* The device (accounts.TotpDevice) and its recovery codes live in the person's schema, like
  the person: a device of tenant A means nothing on tenant B. The TOTP seed is encrypted at
  rest; recovery codes are shown once and only their salted SHA-256 is kept.
* Code attempts are limited three ways: django-otp's throttling on the device (1, 2, 4 …
  seconds after each wrong code), ORBIT_2FA_MAX_ATTEMPTS wrong codes per login (then it starts
  over from the password), and per IP like the password step (billing.ratelimit, through
  settings.BILLING_LOGIN_PATHS).

Policies are public-schema rows (accounts.platform.TwoFactorPolicy), so a client's login reads
its partner's requirement without touching the partner's schema."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from binascii import unhexlify
from dataclasses import dataclass
from urllib.parse import quote, urlencode

import segno
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.sessions.models import Session
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import RecoveryCode, TotpDevice, UserSession
from accounts.platform.models import TwoFactorPolicy
from accounts.services import UserRefused, audit_record, person_managed

PARTNER_KIND = "partner"
RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i
RECOVERY_GROUPS = 3
RECOVERY_GROUP_LENGTH = 4
CODE_INPUT_MAX = 40


class TwoFactorRefused(Exception):
    """Refused; the message is for the person who asked. Nothing was written."""


# --- state ----------------------------------------------------------------------------------


def confirmed_device(user) -> TotpDevice | None:
    if not getattr(user, "pk", None):
        return None
    return TotpDevice.objects.filter(user_id=user.pk, confirmed=True).first()


def two_factor_enabled(user) -> bool:
    return bool(getattr(user, "pk", None)) and TotpDevice.objects.filter(user_id=user.pk, confirmed=True).exists()


def recovery_codes_left(user) -> int:
    return RecoveryCode.objects.filter(user_id=user.pk, used_at__isnull=True).count()


# --- policies ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Policy:
    require_all: bool = False  # this organization's own requirement
    require_clients: bool = False  # a partner's, for its clients
    by_partner: bool = False  # this organization's partner requires it of its clients
    partner_name: str = ""

    @property
    def required(self) -> bool:
        return self.require_all or self.by_partner


def is_partner(organization) -> bool:
    return getattr(organization, "kind", "") == PARTNER_KIND


def policy_get(*, organization) -> Policy:
    """What `organization` requires, and whether its partner requires it of its clients."""
    if organization is None or getattr(organization, "schema_name", "public") == "public":
        return Policy()
    parent_id = getattr(organization, "parent_id", None)
    ids = [organization.pk] + ([parent_id] if parent_id else [])
    rows = {row.organization_id: row for row in TwoFactorPolicy.objects.filter(organization_id__in=ids)}
    own = rows.get(organization.pk)
    parent = rows.get(parent_id) if parent_id else None
    by_partner = bool(parent and parent.require_clients)
    return Policy(
        require_all=bool(own and own.require_all),
        require_clients=bool(own and own.require_clients),
        by_partner=by_partner,
        partner_name=organization.parent.name if by_partner else "",
    )


def two_factor_required(*, user, organization) -> bool:
    """Must this person pass a second factor here?"""
    if not getattr(user, "is_authenticated", False) or getattr(user, "is_support", False):
        return False
    if organization is None or getattr(organization, "schema_name", "public") == "public":
        return bool(user.is_staff) and settings.ORBIT_2FA_OPERATORS
    return policy_get(organization=organization).required


@transaction.atomic
def policy_set(*, organization, actor, require_all: bool, require_clients: bool, request=None) -> Policy:
    """The owner's choice for their organization (and, for a partner, its clients)."""
    if getattr(actor, "role", "") != "owner":
        raise TwoFactorRefused(_("Só o proprietário da conta pode mudar esta exigência."))
    if organization is None or organization.schema_name == "public":
        raise TwoFactorRefused(_("Não disponível aqui."))
    if require_clients and not is_partner(organization):
        raise TwoFactorRefused(_("Só um parceiro pode exigir a verificação dos seus clientes."))
    if (require_all or require_clients) and not two_factor_enabled(actor):
        raise TwoFactorRefused(_("Ative a verificação em duas etapas na sua própria conta antes de exigi-la."))
    row, _created = TwoFactorPolicy.objects.select_for_update().get_or_create(organization_id=organization.pk)
    before = {"require_all": row.require_all, "require_clients": row.require_clients}
    row.require_all = bool(require_all)
    row.require_clients = bool(require_clients)
    row.updated_by = getattr(actor, "email", "")[:254]
    row.save()
    after = {"require_all": row.require_all, "require_clients": row.require_clients}
    if after != before:
        audit_record(action="2fa.policy", actor=actor, target=organization.slug, detail={"from": before, "to": after},
                     request=request)
    return policy_get(organization=organization)


# --- enrolment ----------------------------------------------------------------------------------


def enrolment_start(*, user) -> TotpDevice:
    """The person's enrolment in progress (a new secret unless one is pending). Refused if
    2FA is already on: turning it off first is a deliberate act."""
    if not getattr(user, "pk", None) or getattr(user, "is_support", False):
        raise TwoFactorRefused(_("Esta conta não pode usar a verificação em duas etapas."))
    if two_factor_enabled(user):
        raise TwoFactorRefused(_("A verificação em duas etapas já está ativa."))
    device = TotpDevice.objects.filter(user_id=user.pk, confirmed=False).order_by("-pk").first()
    if device is None:
        device = TotpDevice.objects.create(user_id=user.pk, name="authenticator", confirmed=False)
    return device


def secret_base32(device: TotpDevice) -> str:
    return base64.b32encode(unhexlify(device.key.encode())).decode().rstrip("=")


def provisioning_uri(*, device: TotpDevice, account: str, issuer: str) -> str:
    """otpauth:// URI for authenticator apps (Google Authenticator's key-uri format)."""
    issuer = " ".join((issuer or settings.ORBIT_2FA_ISSUER).split())[:60] or "Orbit"
    label = quote(f"{issuer}:{account}", safe="@:")
    params = urlencode({"secret": secret_base32(device), "issuer": issuer, "algorithm": "SHA1",
                        "digits": TotpDevice.DIGITS, "period": TotpDevice.STEP})
    return f"otpauth://totp/{label}?{params}"


def qr_svg(uri: str) -> str:
    """The QR code of `uri` as inline SVG markup, made here (no image request, no CDN)."""
    return segno.make(uri, error="m").svg_inline(scale=5, border=2, dark="#111", light="#fff", omitsize=True,
                                                  title=_("Código QR para o aplicativo autenticador"))


def _normalise_code(code: str) -> str:
    code = "".join((code or "")[:CODE_INPUT_MAX].split()).replace("-", "").lower()
    return code


def _digits(code: str) -> str | None:
    code = _normalise_code(code)
    return code if code.isdigit() and len(code) == TotpDevice.DIGITS and code.isascii() else None


def enrolment_confirm(*, user, code: str, request=None) -> list[str]:
    """Verify the first code of the pending device: 2FA is on, any other device goes, and the
    recovery codes are returned (the only time they exist in clear). A wrong code is
    committed as a failure (the device's throttling), and nothing else is written."""
    digits = _digits(code)
    if digits is None:
        raise TwoFactorRefused(_("Digite os 6 dígitos que o aplicativo mostra."))
    with transaction.atomic():
        device = TotpDevice.objects.select_for_update().filter(user_id=user.pk, confirmed=False).order_by("-pk").first()
        if device is None:
            raise TwoFactorRefused(_("Nenhuma ativação em andamento: comece de novo."))
        allowed, _detail = device.verify_is_allowed()
        if not allowed:
            raise TwoFactorRefused(_("Muitas tentativas seguidas. Aguarde alguns segundos e tente de novo."))
        verified = device.verify_token(digits)
        if verified:
            TotpDevice.objects.filter(user_id=user.pk).exclude(pk=device.pk).delete()
            device.confirmed = True
            device.save(update_fields=["confirmed"])
            codes = _recovery_codes_replace(user)
            audit_record(action="2fa.enable", actor=user, target=user.email, request=request)
    if not verified:
        raise TwoFactorRefused(_("Código incorreto. Confira o relógio do celular e tente de novo."))
    return codes


# --- recovery codes ---------------------------------------------------------------------------------


def _code_hash(salt: str, code: str) -> str:
    return hashlib.sha256(f"{salt}:{code}".encode()).hexdigest()


def _new_recovery_code() -> str:
    groups = ["".join(secrets.choice(RECOVERY_ALPHABET) for _i in range(RECOVERY_GROUP_LENGTH))
              for _g in range(RECOVERY_GROUPS)]
    return "-".join(groups)


def _recovery_codes_replace(user) -> list[str]:
    RecoveryCode.objects.filter(user_id=user.pk).delete()
    codes = [_new_recovery_code() for _i in range(settings.ORBIT_2FA_RECOVERY_CODES)]
    rows = []
    for code in codes:
        salt = secrets.token_hex(8)
        rows.append(RecoveryCode(user_id=user.pk, salt=salt, code_hash=_code_hash(salt, _normalise_code(code))))
    RecoveryCode.objects.bulk_create(rows)
    return codes


def _recovery_use(user, code: str) -> bool:
    code = _normalise_code(code)
    if len(code) != RECOVERY_GROUPS * RECOVERY_GROUP_LENGTH or not all(ch in RECOVERY_ALPHABET for ch in code):
        return False
    for row in RecoveryCode.objects.select_for_update().filter(user_id=user.pk, used_at__isnull=True):
        if hmac.compare_digest(row.code_hash, _code_hash(row.salt, code)):
            row.used_at = timezone.now()
            row.save(update_fields=["used_at"])
            return True
    return False


# --- verification ------------------------------------------------------------------------------------


@transaction.atomic
def verify(*, user, code: str) -> str | None:
    """"totp" or "recovery" when `code` is the person's current TOTP code or one of their
    unused recovery codes (then spent); None otherwise. Raises TwoFactorRefused while the
    device is throttled after wrong codes."""
    device = TotpDevice.objects.select_for_update().filter(user_id=user.pk, confirmed=True).first()
    if device is None:
        return None
    digits = _digits(code)
    if digits is not None:
        allowed, _detail = device.verify_is_allowed()
        if not allowed:
            raise TwoFactorRefused(_("Muitas tentativas seguidas. Aguarde alguns segundos e tente de novo."))
        return "totp" if device.verify_token(digits) else None
    if _recovery_use(user, code):
        return "recovery"
    device.throttle_increment(commit=True)  # a wrong recovery code counts as a wrong code
    return None


def disable(*, user, code: str, organization=None, request=None) -> None:
    """Turn 2FA off (a current code or a recovery code proves it is the person). Refused
    where it is required. A wrong code counts against the device's throttling."""
    if two_factor_required(user=user, organization=organization):
        raise TwoFactorRefused(_("Sua organização exige a verificação em duas etapas: ela não pode ser desativada."))
    if not two_factor_enabled(user):
        raise TwoFactorRefused(_("A verificação em duas etapas não está ativa."))
    if verify(user=user, code=code) is None:
        raise TwoFactorRefused(_("Código incorreto."))
    with transaction.atomic():
        TotpDevice.objects.filter(user_id=user.pk).delete()
        RecoveryCode.objects.filter(user_id=user.pk).delete()
        audit_record(action="2fa.disable", actor=user, target=user.email, request=request)


def recovery_codes_regenerate(*, user, code: str, request=None) -> list[str]:
    """New recovery codes (the old ones stop working), after a current code."""
    if not two_factor_enabled(user):
        raise TwoFactorRefused(_("A verificação em duas etapas não está ativa."))
    if verify(user=user, code=code) is None:
        raise TwoFactorRefused(_("Código incorreto."))
    with transaction.atomic():
        codes = _recovery_codes_replace(user)
        audit_record(action="2fa.recovery_regenerate", actor=user, target=user.email, request=request)
    return codes


def people_with_two_factor():
    """The tenant's people whose second factor is on (for an admin to reset a lost one)."""
    people = get_user_model().objects.filter(totpdevice__confirmed=True).exclude(role="support")
    return people.order_by("email").distinct()


def two_factor_reset(*, user_id: int, actor, request=None):
    """An owner or admin turns off someone else's second factor (a lost phone and lost codes),
    and ends that person's sessions; where 2FA is required they enrol again at their next
    login. The rules of every change to people apply (accounts.services.person_managed): never
    oneself, never the owner, admins only by the owner. Raises User.DoesNotExist or
    accounts.services.UserRefused; on the platform (operators), any other operator."""
    User = get_user_model()
    with transaction.atomic():
        if connection.schema_name == "public":
            person = User.objects.select_for_update().get(pk=user_id)
            if person.pk == actor.pk:
                raise UserRefused(_("Você não pode alterar o seu próprio acesso."))
        else:
            person = person_managed(user_id, actor)
        if not TotpDevice.objects.filter(user_id=person.pk).exists():
            raise UserRefused(_("Esta pessoa não usa a verificação em duas etapas."))
        TotpDevice.objects.filter(user_id=person.pk).delete()
        RecoveryCode.objects.filter(user_id=person.pk).delete()
        keys = list(UserSession.objects.filter(user_id=person.pk).values_list("session_key", flat=True))
        Session.objects.filter(session_key__in=keys).delete()
        UserSession.objects.filter(user_id=person.pk).delete()
        audit_record(action="2fa.reset", actor=actor, target=person.email, request=request)
    return person


# --- the login's pending state (between the password and the code) ----------------------------------

PENDING = "_orbit_2fa_pending"
VERIFIED = "_orbit_2fa"  # how this session passed the second factor ("totp", "recovery", "enrolled")
REQUIREMENT = "_orbit_2fa_req"  # [checked at, required] for sessions that did not pass it
REQUIREMENT_TTL = 60


def pending_start(request, *, user, backend: str, next_url: str) -> None:
    request.session[PENDING] = {
        "uid": user.pk, "backend": backend, "at": int(time.time()), "fails": 0, "next": next_url,
        "schema": connection.schema_name,
    }


def pending_user(request):
    """The person halfway through logging in on this host, or None (expired, another schema)."""
    data = request.session.get(PENDING)
    if not isinstance(data, dict):
        return None
    if data.get("schema") != connection.schema_name or time.time() - data.get("at", 0) > settings.ORBIT_2FA_PENDING_SECONDS:
        request.session.pop(PENDING, None)
        return None
    user = get_user_model().objects.filter(pk=data.get("uid"), is_active=True).first()
    if user is None:
        request.session.pop(PENDING, None)
        return None
    user.backend = data.get("backend")
    return user


def pending_next(request) -> str:
    data = request.session.get(PENDING) or {}
    return data.get("next") or ""


def pending_failed(request) -> bool:
    """Count a wrong code; True when the login must start over from the password."""
    data = request.session.get(PENDING) or {}
    data["fails"] = int(data.get("fails", 0)) + 1
    if data["fails"] >= settings.ORBIT_2FA_MAX_ATTEMPTS:
        request.session.pop(PENDING, None)
        return True
    request.session[PENDING] = data
    return False


def pending_clear(request) -> None:
    request.session.pop(PENDING, None)


def mark_verified(request, method: str) -> None:
    request.session[VERIFIED] = method
    request.session.pop(REQUIREMENT, None)


def session_verified(request) -> bool:
    return bool(request.session.get(VERIFIED))


def session_requirement(request, *, user, organization) -> bool:
    """two_factor_required(), remembered in the session for REQUIREMENT_TTL seconds (a policy
    switched on reaches every open session within that time)."""
    now = int(time.time())
    cached = request.session.get(REQUIREMENT)
    if isinstance(cached, list) and len(cached) == 2 and now - cached[0] < REQUIREMENT_TTL:
        required = bool(cached[1])
    else:
        required = two_factor_required(user=user, organization=organization) or two_factor_enabled(user)
        request.session[REQUIREMENT] = [now, required]
    return required


def session_admits(*, session, user, organization) -> bool:
    """May this session (a SessionStore or request.session) act as `user` without passing
    through HTTP first? False when it has not passed the second factor and one is needed
    (the websocket handshake, which no middleware sees, asks this)."""
    if not getattr(user, "is_authenticated", False) or session.get(VERIFIED):
        return True
    return not (two_factor_required(user=user, organization=organization) or two_factor_enabled(user))
