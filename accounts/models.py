"""Users live in every schema: operators in public, each tenant's people in its own.

A row here is only meaningful inside its schema, so a session or password-reset token
from one tenant has nothing to match on another."""

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
        return self.role in (self.Role.OWNER, self.Role.ADMIN)
