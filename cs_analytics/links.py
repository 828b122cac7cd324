"""Links to Salesforce records (an account's `sf_url`): made only to the configured org.

`sf_url` comes from the data — the Salesforce refresh writes the org's own record URL, but an
imported file may hold anything (`javascript:…`, a look-alike host). A link is shown only for an
https URL on the configured org's hosts: its My Domain (SF_DOMAIN, e.g. `acme.my`) or instance
URL (SF_INSTANCE_URL) and the matching `*.lightning.force.com` host; with neither configured,
any `*.my.salesforce.com` or `*.lightning.force.com` host.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from cs_analytics.secrets import Secrets

MY_DOMAIN = ".my.salesforce.com"
LIGHTNING = ".lightning.force.com"
SALESFORCE_SUFFIXES = (MY_DOMAIN, LIGHTNING)
LOGIN_DOMAINS = frozenset({"login", "test"})


@dataclass(frozen=True)
class SalesforceOrg:
    """The hosts a Salesforce link may point to; empty when no org is configured."""

    hosts: frozenset[str] = frozenset()

    def allows(self, host: str) -> bool:
        host = host.lower().rstrip(".")
        if self.hosts:
            return host in self.hosts
        return any(host.endswith(s) and len(host) > len(s) for s in SALESFORCE_SUFFIXES)

    def link(self, url) -> str | None:
        """`url` when it is an https link to this org's records, else None."""
        if not isinstance(url, str) or not url.strip():
            return None
        text = url.strip()
        if any(ch.isspace() or ord(ch) < 32 for ch in text):
            return None
        try:
            parts = urlsplit(text)
            port = parts.port
        except ValueError:
            return None
        if parts.scheme.lower() != "https" or parts.username or parts.password:
            return None
        if port not in (None, 443) or not parts.hostname or not self.allows(parts.hostname):
            return None
        return text


def salesforce_org(secrets: Secrets) -> SalesforceOrg:
    """The configured org's hosts, from SF_INSTANCE_URL and a My Domain in SF_DOMAIN."""
    hosts: set[str] = set()
    instance = secrets.get("SF_INSTANCE_URL")
    if instance:
        host = urlsplit(instance if "://" in instance else f"https://{instance}").hostname
        if host:
            hosts.add(host.lower())
    domain = (secrets.get("SF_DOMAIN") or "").strip().lower().rstrip(".")
    if domain and domain not in LOGIN_DOMAINS:
        hosts.add(domain if domain.endswith(".com") else f"{domain}.salesforce.com")
    for host in list(hosts):
        if host.endswith(MY_DOMAIN):
            hosts.add(host.removesuffix(MY_DOMAIN) + LIGHTNING)
    return SalesforceOrg(frozenset(hosts))
