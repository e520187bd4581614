"""Users live in every schema: operators in public, each tenant's people in its own.

A row here is only meaningful inside its schema, so a session or password-reset token
from one tenant has nothing to match on another."""

from __future__ import annotations

import hashlib
import secrets

from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_otp.models import Device, ThrottlingMixin, TimestampMixin
from django_otp.util import random_hex

from accounts.fields import EncryptedTextField
from accounts.useragents import describe_user_agent


class UserManager(BaseUserManager):
    use_in_migrations = True

    def create_user(self, email, password=None, **extra):
        if not email:
            raise ValueError("email is required")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, email, password=None, **extra):
        extra.setdefault("is_staff", True)
        extra.setdefault("is_superuser", True)
        extra.setdefault("role", User.Role.OWNER)
        return self.create_user(email, password, **extra)


class User(AbstractBaseUser, PermissionsMixin):
    class Role(models.TextChoices):
        OWNER = "owner", _("Proprietário")
        ADMIN = "admin", _("Administrador")
        AGENT = "agent", _("Agente")
        # A partner's support identity, logged in only through a support-access link:
        # no password, no seat (billing counts owner/admin/agent), not among the agents.
        SUPPORT = "support", _("Suporte do parceiro")

    email = models.EmailField(_("e-mail"), unique=True)
    name = models.CharField(_("nome"), max_length=150, blank=True)
    role = models.CharField(_("papel"), max_length=10, choices=Role.choices, default=Role.AGENT)
    language = models.CharField(_("idioma"), max_length=10, blank=True)
    is_active = models.BooleanField(_("ativo"), default=True)
    is_staff = models.BooleanField(_("operador"), default=False)
    date_joined = models.DateTimeField(default=timezone.now)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    class Meta:
        verbose_name = _("usuário")
        verbose_name_plural = _("usuários")

    def __str__(self) -> str:
        return self.email

    @property
    def is_tenant_admin(self) -> bool:
        return self.role in (self.Role.OWNER, self.Role.ADMIN, self.Role.SUPPORT)

    @property
    def is_support(self) -> bool:
        return self.role == self.Role.SUPPORT


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class ApiTokenManager(models.Manager):
    def issue(self, *, user: User, name: str) -> tuple[ApiToken, str]:
        """Create a token for user; returns (row, clear token). The clear token is not kept."""
        clear = ApiToken.PREFIX + secrets.token_urlsafe(32)
        row = self.create(user=user, name=name, token_hash=_token_hash(clear), prefix=clear[: ApiToken.SHOWN_CHARS])
        return row, clear

    def authenticate(self, token: str) -> User | None:
        """The active user a clear token belongs to in the current schema, or None."""
        if not token or not token.startswith(ApiToken.PREFIX) or len(token) > 200:
            return None
        row = self.select_related("user").filter(token_hash=_token_hash(token), user__is_active=True).first()
        if row is None:
            return None
        now = timezone.now()
        # Written at most once a minute: a bot reconnecting in a loop costs no write each time.
        if row.last_used_at is None or (now - row.last_used_at).total_seconds() > 60:
            self.filter(pk=row.pk).update(last_used_at=now)
        return row.user


class ApiToken(models.Model):
    """A personal API token for an agent or a bot (websockets and the API).

    Only a SHA-256 of the token is stored; the clear token is shown once, at creation.
    The row lives in the tenant's schema, so a token is worthless on any other tenant."""

    PREFIX = "orb_"
    SHOWN_CHARS = 12  # "orb_" and 8 random characters: enough to tell tokens apart, useless alone

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(_("nome"), max_length=100)
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    # The token's first characters, to recognise it in lists (empty for tokens issued before).
    prefix = models.CharField(_("prefixo"), max_length=16, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    objects = ApiTokenManager()

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("token de API")
        verbose_name_plural = _("tokens de API")

    def __str__(self) -> str:
        return f"{self.name} ({self.user})"


class AuditEntry(models.Model):
    """Who did what in this tenant (its own schema): support access, agents, brand, domains.

    Written only by services; the tenant's admins read it under /settings/audit/."""

    created_at = models.DateTimeField(_("quando"), default=timezone.now, db_index=True)
    action = models.CharField(_("ação"), max_length=60)
    actor_email = models.CharField(_("quem"), max_length=254, blank=True)
    actor_label = models.CharField(_("origem"), max_length=200, blank=True)
    target = models.CharField(_("alvo"), max_length=254, blank=True)
    detail = models.JSONField(_("detalhes"), default=dict, blank=True)
    # Where from (logins, 2FA, sessions, operator actions): the client's address and browser.
    ip = models.GenericIPAddressField(_("IP"), null=True, blank=True)
    user_agent = models.CharField(_("navegador"), max_length=300, blank=True)
    # In the public schema (the operator's own log): the organization an action concerned.
    tenant = models.CharField(_("organização"), max_length=100, blank=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("registro de auditoria")
        verbose_name_plural = _("registros de auditoria")

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.action} {self.actor_email}"

    @property
    def device(self) -> str:
        """The browser, in a few words ("Chrome · Linux"); "" when none was recorded."""
        return describe_user_agent(self.user_agent) if self.user_agent else ""


# --- two-factor authentication (accounts.twofactor) ------------------------------------


def new_totp_key() -> str:
    return random_hex(20)  # 160 bits, hex


class TotpDevice(TimestampMixin, ThrottlingMixin, Device):
    """A person's authenticator app (TOTP, RFC 6238: 6 digits, 30 s), a django-otp device.

    The shared secret is encrypted at rest (ORBIT_SECRETS_KEY). An unconfirmed device is an
    enrolment in progress: it protects nothing until its first code is verified. Failed
    codes slow the device down (django-otp's throttling: 1, 2, 4 … seconds)."""

    key = EncryptedTextField(default=new_totp_key)
    last_t = models.BigIntegerField(default=-1)  # the time step last accepted: a code works once
    drift = models.SmallIntegerField(default=0)

    STEP = 30
    DIGITS = 6
    TOLERANCE = 1

    class Meta(Device.Meta):
        verbose_name = _("autenticador (TOTP)")
        verbose_name_plural = _("autenticadores (TOTP)")

    def get_throttle_factor(self) -> int:
        return 1

    def verify_token(self, token) -> bool:
        from binascii import unhexlify

        from django_otp.oath import TOTP

        allowed, _detail = self.verify_is_allowed()
        if not allowed:
            return False
        try:
            token = int(token)
        except (TypeError, ValueError):
            verified = False
        else:
            totp = TOTP(unhexlify(self.key.encode()), self.STEP, 0, self.DIGITS, self.drift)
            verified = totp.verify(token, self.TOLERANCE, self.last_t + 1)
            if verified:
                self.last_t = totp.t()
                self.drift = totp.drift
        if verified:
            self.throttle_reset(commit=False)
            self.set_last_used_timestamp(commit=False)
        else:
            self.throttle_increment(commit=False)
        self.save()
        return verified


class RecoveryCode(models.Model):
    """One single-use recovery code; only a salted SHA-256 of it is kept (shown once)."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="recovery_codes")
    salt = models.CharField(max_length=32)
    code_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField(default=timezone.now)
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("código de recuperação")
        verbose_name_plural = _("códigos de recuperação")

    def __str__(self) -> str:
        return f"{self.user} ({'used' if self.used_at else 'unused'})"


# --- sessions (accounts.usersessions) ----------------------------------------------------


class UserSession(models.Model):
    """A logged-in browser of a person, beside Django's session row (same key), in the
    schema the session lives in: listed on the security page, revocable one by one."""

    session_key = models.CharField(max_length=40, unique=True)
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="browser_sessions")
    ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    last_seen_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-last_seen_at", "-id"]
        verbose_name = _("sessão")
        verbose_name_plural = _("sessões")

    def __str__(self) -> str:
        return f"{self.user} {self.ip or '-'}"
