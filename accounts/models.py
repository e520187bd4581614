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

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("registro de auditoria")
        verbose_name_plural = _("registros de auditoria")

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.action} {self.actor_email}"
