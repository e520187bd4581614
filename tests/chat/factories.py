"""Chat factories. Like tests.factories, they write in the connection's current schema."""

from __future__ import annotations

import uuid

import factory

from chat.models import CannedResponse, Contact, Conversation, Inbox, Label, Message, Team


class InboxFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Inbox

    name = factory.Sequence(lambda n: f"Site {n}")
    greeting = "Olá! Como podemos ajudar?"
    auto_assign = False
    auto_assign_capacity = 2


class ContactFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Contact

    name = factory.Faker("name", locale="pt_BR")
    email = factory.Sequence(lambda n: f"visitante{n}@example.com")


class TeamFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Team

    name = factory.Sequence(lambda n: f"Equipe {n}")


class LabelFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Label
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"label-{n}")


class CannedResponseFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CannedResponse

    shortcut = factory.Sequence(lambda n: f"atalho{n}")
    text = "Obrigado pelo contato!"


class ConversationFactory(factory.django.DjangoModelFactory):
    """A conversation row as is (no assignment, no metering: use conversation_open for those)."""

    class Meta:
        model = Conversation

    inbox = factory.SubFactory(InboxFactory)
    contact = factory.SubFactory(ContactFactory)


def new_client_id() -> str:
    return str(uuid.uuid4())


def message_count(conversation) -> int:
    return Message.objects.filter(conversation=conversation).count()
