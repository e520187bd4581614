"""Live chat, per tenant schema: inboxes, contacts, conversations, messages and friends.

PostgreSQL is the record: every message has a per-conversation `seq` handed out from
`Conversation.last_seq` under the conversation's row lock, so a client that missed
anything can ask for "everything after n" and get it from here (DESIGN.md, Realtime)."""

from __future__ import annotations

import secrets

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.fields import EncryptedTextField


def new_public_key() -> str:
    return secrets.token_urlsafe(18)


def new_hmac_secret() -> str:
    return secrets.token_hex(32)


class Team(models.Model):
    """A team or department; departments nest through `parent`."""

    name = models.CharField(_("nome"), max_length=100)
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.CASCADE, related_name="children", verbose_name=_("pai")
    )
    members = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="chat_teams")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("equipe")
        verbose_name_plural = _("equipes")

    def __str__(self) -> str:
        return self.name


class Inbox(models.Model):
    """A website channel: the widget's public key, its page's origins and how chats are routed."""

    name = models.CharField(_("nome"), max_length=100)
    public_key = models.CharField(max_length=40, unique=True, default=new_public_key, editable=False)
    allowed_origins = models.JSONField(
        _("origens permitidas"), default=list, blank=True, help_text=_("ex.: https://www.exemplo.com.br")
    )
    greeting = models.TextField(_("saudação"), blank=True)
    # {"mon": [["09:00", "18:00"]], ...}; empty = always open.
    business_hours = models.JSONField(_("horário de atendimento"), default=dict, blank=True)
    time_zone = models.CharField(_("fuso horário"), max_length=64, default="America/Sao_Paulo")
    # [{"name": "email", "label": "E-mail", "type": "email", "required": true}, ...]
    prechat_fields = models.JSONField(_("formulário pré-chat"), default=list, blank=True)
    hmac_secret = EncryptedTextField(default=new_hmac_secret, editable=False)  # encrypted at rest (accounts.crypto)
    require_identity = models.BooleanField(_("exigir verificação de identidade"), default=False)
    # Who may take this inbox's chats: the team's members if set, else `agents`, else every agent.
    agents = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="chat_inboxes")
    auto_assign = models.BooleanField(_("atribuição automática"), default=True)
    auto_assign_capacity = models.PositiveSmallIntegerField(_("conversas por agente"), default=5)
    auto_assign_team = models.ForeignKey(
        Team, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", verbose_name=_("equipe")
    )
    # Round-robin cursor: the last agent auto-assigned a conversation of this inbox.
    last_assigned_user_id = models.BigIntegerField(null=True, blank=True, editable=False)
    auto_resolve_after = models.DurationField(
        _("resolver após inatividade"), null=True, blank=True, help_text=_("vazio = nunca")
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("caixa de entrada")
        verbose_name_plural = _("caixas de entrada")

    def __str__(self) -> str:
        return self.name


class Contact(models.Model):
    name = models.CharField(_("nome"), max_length=200, blank=True)
    email = models.EmailField(_("e-mail"), blank=True)
    phone = models.CharField(_("telefone"), max_length=40, blank=True)
    # Set only from an identity the inbox's HMAC verified (or by an agent/API).
    external_id = models.CharField(_("id externo"), max_length=200, null=True, blank=True, unique=True)
    custom_attributes = models.JSONField(_("atributos"), default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("contato")
        verbose_name_plural = _("contatos")

    def __str__(self) -> str:
        return self.name or self.email or f"#{self.pk}"


class Label(models.Model):
    name = models.CharField(_("nome"), max_length=50, unique=True)
    colour = models.CharField(_("cor"), max_length=7, default="#6b7280")

    class Meta:
        ordering = ["name"]
        verbose_name = _("etiqueta")
        verbose_name_plural = _("etiquetas")

    def __str__(self) -> str:
        return self.name


class CannedResponse(models.Model):
    shortcut = models.SlugField(_("atalho"), max_length=50, unique=True)
    text = models.TextField(_("texto"))

    class Meta:
        ordering = ["shortcut"]
        verbose_name = _("resposta pronta")
        verbose_name_plural = _("respostas prontas")

    def __str__(self) -> str:
        return f"/{self.shortcut}"


class Conversation(models.Model):
    class Status(models.TextChoices):
        OPEN = "open", _("Aberta")
        PENDING = "pending", _("Pendente")
        SNOOZED = "snoozed", _("Adiada")
        RESOLVED = "resolved", _("Resolvida")

    class Priority(models.IntegerChoices):
        NONE = 0, _("Nenhuma")
        LOW = 1, _("Baixa")
        MEDIUM = 2, _("Média")
        HIGH = 3, _("Alta")
        URGENT = 4, _("Urgente")

    inbox = models.ForeignKey(Inbox, on_delete=models.CASCADE, related_name="conversations")
    # contact and assignee lead the (…, status) indexes below, which serve their lookups; an
    # index of their own would only be one more for every message's update of this row.
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="conversations", db_index=False)
    status = models.CharField(_("situação"), max_length=10, choices=Status.choices, default=Status.OPEN)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="chat_assigned",
        db_index=False,
    )
    team = models.ForeignKey(Team, null=True, blank=True, on_delete=models.SET_NULL, related_name="conversations")
    priority = models.PositiveSmallIntegerField(_("prioridade"), choices=Priority.choices, default=Priority.NONE)
    labels = models.ManyToManyField(Label, blank=True, related_name="conversations")
    # The last seq handed out; bumped under the row lock in the same statement as the insert.
    last_seq = models.PositiveBigIntegerField(default=0)
    # Waiting for an agent with free capacity since (FIFO); null = not queued.
    queued_at = models.DateTimeField(null=True, blank=True, db_index=True)
    snoozed_until = models.DateTimeField(null=True, blank=True)
    first_reply_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    last_activity_at = models.DateTimeField(default=timezone.now, db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-last_activity_at"]
        indexes = [
            models.Index(fields=["assignee", "status"], name="chat_conv_assignee_status"),
            models.Index(fields=["contact", "status"], name="chat_conv_contact_status"),
            models.Index(fields=["status", "last_activity_at"], name="chat_conv_status_activity"),
        ]
        verbose_name = _("conversa")
        verbose_name_plural = _("conversas")

    def __str__(self) -> str:
        return f"#{self.pk}"


class Message(models.Model):
    class Sender(models.TextChoices):
        AGENT = "agent", _("Agente")
        CONTACT = "contact", _("Contato")
        SYSTEM = "system", _("Sistema")
        BOT = "bot", _("Robô")

    # (conversation, seq) is unique, so its index serves conversation lookups too.
    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="messages", db_index=False)
    seq = models.PositiveBigIntegerField()
    sender_type = models.CharField(max_length=10, choices=Sender.choices)
    sender_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    body = models.TextField(blank=True)
    is_private = models.BooleanField(_("nota privada"), default=False)
    client_id = models.UUIDField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["conversation", "seq"]
        constraints = [
            models.UniqueConstraint(fields=["conversation", "seq"], name="chat_message_conv_seq"),
            models.UniqueConstraint(fields=["conversation", "client_id"], name="chat_message_conv_client_id"),
        ]
        verbose_name = _("mensagem")
        verbose_name_plural = _("mensagens")

    def __str__(self) -> str:
        return f"#{self.conversation_id}/{self.seq}"


class Attachment(models.Model):
    class Kind(models.TextChoices):
        IMAGE = "image", _("Imagem")
        DOCUMENT = "document", _("Documento")
        AUDIO = "audio", _("Áudio")

    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="attachments")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    # The full storage name, schema included: tenants/<schema>/uploads/<kind>s/...
    file = models.CharField(max_length=300)
    content_type = models.CharField(max_length=100)
    size = models.PositiveBigIntegerField()
    original_name = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        verbose_name = _("anexo")
        verbose_name_plural = _("anexos")

    def __str__(self) -> str:
        return self.original_name or self.file


class ReadReceipt(models.Model):
    """How far a participant (an agent, or the conversation's contact) has read."""

    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="read_receipts")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    is_contact = models.BooleanField(default=False)
    last_read_seq = models.PositiveBigIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["conversation", "user"], condition=models.Q(is_contact=False), name="chat_read_agent"
            ),
            models.UniqueConstraint(
                fields=["conversation"], condition=models.Q(is_contact=True), name="chat_read_contact"
            ),
        ]

    def __str__(self) -> str:
        who = "contact" if self.is_contact else f"user {self.user_id}"
        return f"#{self.conversation_id} read by {who} up to {self.last_read_seq}"
