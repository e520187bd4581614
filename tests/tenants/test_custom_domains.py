"""Custom domains: DNS TXT ownership (fake resolver, no network), only verified ones
route, wildcards for a partner's clients, cache invalidation."""

from __future__ import annotations

import pytest
from django_tenants.utils import schema_context

from accounts.models import AuditEntry
from tenants.models import Domain
from tenants.services import DomainRefused, domain_add, domain_remove, domain_verify
from tests.branding.conftest import commit, two_partners  # noqa: F401
from tests.conftest import host_client
from tests.factories import logged_in, owner_email


class FakeResolver:
    """Injected through settings.ORBIT_DNS_RESOLVER: answers from a dict, never the network."""

    records: dict[str, list[str]] = {}
    asked: list[str] = []

    def txt_records(self, name: str) -> list[str]:
        FakeResolver.asked.append(name)
        return FakeResolver.records.get(name, [])


@pytest.fixture(autouse=True)
def fake_dns(settings):
    settings.ORBIT_DNS_RESOLVER = "tests.tenants.test_custom_domains.FakeResolver"
    FakeResolver.records, FakeResolver.asked = {}, []
    return FakeResolver.records


def publish(domain: Domain) -> None:
    FakeResolver.records[domain.txt_record_name] = ["v=spf1 -all", domain.txt_record_value]


def test_a_new_domain_is_unverified_and_does_not_route_until_its_txt_record_is_found(two_partners, commit):  # noqa: F811
    zap, nuvem, padaria, oficina = two_partners
    client = host_client("chat.padaria.com.br")
    with commit():
        domain = domain_add(organization=padaria, host="Chat.Padaria.com.br.")
    assert domain.domain == "chat.padaria.com.br" and not domain.is_verified and len(domain.verification_token) > 20
    assert client.get("/accounts/login/").status_code == 404  # also cached negatively now
    with pytest.raises(DomainRefused, match="_orbit.chat.padaria.com.br"):
        domain_verify(organization=padaria, domain_id=domain.pk)
    FakeResolver.records[domain.txt_record_name] = ["orbit-verify=wrong-token"]
    with pytest.raises(DomainRefused):
        domain_verify(organization=padaria, domain_id=domain.pk)
    publish(domain)
    with commit():
        domain_verify(organization=padaria, domain_id=domain.pk)
    assert FakeResolver.asked[-1] == "_orbit.chat.padaria.com.br"
    response = client.get("/accounts/login/")
    assert response.status_code == 200 and padaria.name in response.content.decode()  # the negative cache was dropped
    with schema_context(padaria.schema_name):
        assert set(AuditEntry.objects.values_list("action", flat=True)) == {"domain.add", "domain.verify"}
    with commit():
        domain_remove(organization=padaria, domain_id=domain.pk)
    assert client.get("/accounts/login/").status_code == 404


@pytest.mark.parametrize(
    "host,message",
    [
        ("not a host", "válido"),
        ("localhost", "válido"),  # not even a dotted host
        ("alpha.localhost", "plataforma"),
        ("evil.localhost", "plataforma"),
        ("*.chat.padaria.com.br", "parceiros"),  # a company may not add a wildcard
    ],
)
def test_bad_or_reserved_hosts_are_refused(two_partners, host, message):  # noqa: F811
    zap, nuvem, padaria, oficina = two_partners
    with pytest.raises(DomainRefused, match=message):
        domain_add(organization=padaria, host=host)


def test_a_domain_in_use_is_refused_and_anothers_domain_is_not_found(two_partners):  # noqa: F811
    zap, nuvem, padaria, oficina = two_partners
    domain = domain_add(organization=padaria, host="chat.padaria.com.br")
    with pytest.raises(DomainRefused, match="em uso"):
        domain_add(organization=oficina, host="chat.padaria.com.br")
    publish(domain)
    with pytest.raises(Domain.DoesNotExist):
        domain_verify(organization=oficina, domain_id=domain.pk)
    with pytest.raises(Domain.DoesNotExist):
        domain_remove(organization=oficina, domain_id=domain.pk)
    primary = padaria.domains.get(is_primary=True)
    with pytest.raises(DomainRefused):
        domain_remove(organization=padaria, domain_id=primary.pk)


def test_a_partners_verified_wildcard_serves_its_clients_and_only_them(two_partners, commit):  # noqa: F811
    zap, nuvem, padaria, oficina = two_partners
    with commit():
        wildcard = domain_add(organization=zap, host="*.chat.zap.com.br")
    assert host_client("padaria.chat.zap.com.br").get("/accounts/login/").status_code == 404  # unverified
    publish(wildcard)
    assert wildcard.txt_record_name == "_orbit.chat.zap.com.br"
    with commit():
        domain_verify(organization=zap, domain_id=wildcard.pk)
    ok = host_client("padaria.chat.zap.com.br").get("/accounts/login/")
    assert ok.status_code == 200 and padaria.name in ok.content.decode()
    # another partner's client, the partner itself and unknown labels are not served there
    assert host_client("oficina.chat.zap.com.br").get("/accounts/login/").status_code == 404
    assert host_client("zap.chat.zap.com.br").get("/accounts/login/").status_code == 404
    assert host_client("a.b.chat.zap.com.br").get("/accounts/login/").status_code == 404
    # a client created later is reachable at once (its negatively cached host is dropped)
    from tests.factories import make_organization

    assert host_client("sorveteria.chat.zap.com.br").get("/accounts/login/").status_code == 404
    with commit():
        make_organization("sorveteria", parent=zap)
    assert host_client("sorveteria.chat.zap.com.br").get("/accounts/login/").status_code == 200
    with commit():
        domain_remove(organization=zap, domain_id=wildcard.pk)
    assert host_client("padaria.chat.zap.com.br").get("/accounts/login/").status_code == 404


def test_domains_page_adds_shows_the_txt_record_and_verifies(two_partners, commit):  # noqa: F811
    zap, nuvem, padaria, oficina = two_partners
    owner = logged_in("padaria.localhost", owner_email("padaria"))
    with commit():
        assert owner.post("/settings/domains/", {"host": "atendimento.padaria.com.br"}).status_code == 302
    domain = Domain.objects.get(domain="atendimento.padaria.com.br")
    page = owner.get("/settings/domains/").content.decode()
    assert domain.txt_record_name in page and domain.txt_record_value in page and "Aguardando verificação" in page
    refused = owner.post(f"/settings/domains/{domain.pk}/", {"action": "verify"}, follow=True)
    assert "Não encontramos o registro TXT" in refused.content.decode()
    publish(domain)
    with commit():
        owner.post(f"/settings/domains/{domain.pk}/", {"action": "verify"})
    assert host_client("atendimento.padaria.com.br").get("/accounts/login/").status_code == 200
    bad = owner.post("/settings/domains/", {"host": "zap.localhost"})
    assert bad.status_code == 400
    # another tenant's domain id is a 404 on this host
    theirs = domain_add(organization=oficina, host="chat.oficina.com.br")
    assert owner.post(f"/settings/domains/{theirs.pk}/", {"action": "remove"}).status_code == 404
    assert Domain.objects.filter(pk=theirs.pk).exists()


def test_the_default_resolver_uses_dnspython(settings):
    from tenants.dns import DnsPythonResolver, get_resolver

    settings.ORBIT_DNS_RESOLVER = "tenants.dns.DnsPythonResolver"
    assert isinstance(get_resolver(), DnsPythonResolver)
