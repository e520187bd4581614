"""DNS TXT lookups for custom-domain verification, behind a setting so tests (and odd
deployments) can inject their own resolver: settings.ORBIT_DNS_RESOLVER is the dotted
path of a class whose instances answer `txt_records(name) -> list[str]`."""

from __future__ import annotations

from django.conf import settings
from django.utils.module_loading import import_string

DEFAULT_RESOLVER = "tenants.dns.DnsPythonResolver"


class DnsPythonResolver:
    timeout = 5.0

    def txt_records(self, name: str) -> list[str]:
        import dns.exception
        import dns.resolver

        try:
            answer = dns.resolver.resolve(name, "TXT", lifetime=self.timeout)
        except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer, dns.resolver.NoNameservers, dns.exception.Timeout):
            return []
        return [b"".join(record.strings).decode("utf-8", "replace") for record in answer]


def get_resolver():
    return import_string(getattr(settings, "ORBIT_DNS_RESOLVER", DEFAULT_RESOLVER))()
