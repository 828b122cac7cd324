"""Links to Salesforce records (an account's `sf_url`): made only to the configured org.

`sf_url` comes from the data — the Salesforce refresh writes the org's own record URL, but an
imported file may hold anything (`javascript:…`, a look-alike host). A link is shown only for an
https URL on the configured org's hosts: its My Domain (SF_DOMAIN, e.g. `acme.my`) or instance
URL (SF_INSTANCE_URL) and the matching `*.lightning.force.com` host; with neither configured,
any `*.my.salesforce.com` or `*.lightning.force.com` host.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from cs_analytics.secrets import Secrets

MY_DOMAIN = ".my.salesforce.com"
LIGHTNING = ".lightning.force.com"
LOGIN_DOMAINS = frozenset({"login", "test"})


_LABEL = r"[a-z0-9](?:[a-z0-9-]*[a-z0-9])?"
_ANY_ORG = re.compile(rf"{_LABEL}(?:\.{_LABEL})*(?:\.my\.salesforce\.com|\.lightning\.force\.com)")
# An https URL: its authority (host[:port], user info included if any), then a path, query or
# fragment of printable characters without spaces.
_URL = re.compile(r"(?i)https://([^/?#]*)((?:[/?#][\x21-\x7e\u00a0-\U0010ffff]*)?)")


@dataclass(frozen=True)
class SalesforceOrg:
    """The hosts a Salesforce link may point to; empty when no org is configured."""

    hosts: frozenset[str] = frozenset()

    def link(self, url) -> str | None:
        """`url` when it is an https link to this org's records — an allowed host, no user,
        no port but 443, no spaces or control characters — else None."""
        if not isinstance(url, str):
            return None
        found = _URL.fullmatch(url)
        if found is None or not _allowed_authority(self.hosts, found.group(1)):
            return None
        return url

    def links(self, values) -> list[str | None]:
        """`link` of each value of a column of URLs (any of them missing)."""
        return [self.link(v) for v in values]


@functools.lru_cache(maxsize=4096)
def _allowed_authority(hosts: frozenset[str], authority: str) -> bool:
    """Whether `authority` (what follows https://, up to the path) is an allowed host;
    decided once per distinct value (a column holds a few hosts)."""
    host = authority.lower()
    if host.endswith(":443"):
        host = host[:-4]
    if hosts:
        return host in hosts
    return _ANY_ORG.fullmatch(host) is not None


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
