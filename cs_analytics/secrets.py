"""Secrets (Salesforce, Metabase and Slack credentials) from the environment or
`.streamlit/secrets.toml` — never from the settings file, never printed or logged.

`Secrets.redact(text)` masks every secret value that could appear in a message (also in its
URL-encoded and Basic-auth forms); connectors pass every error text through it.
"""

from __future__ import annotations

import base64
import os
from pathlib import Path
from urllib.parse import quote, quote_plus, urlsplit

from cs_analytics.config import REPO_ROOT, read_toml

SECRETS_ENV = "CS_ANALYTICS_SECRETS"

SALESFORCE_KEYS = ("SF_USERNAME", "SF_PASSWORD", "SF_SECURITY_TOKEN", "SF_CONSUMER_KEY",
                   "SF_CONSUMER_SECRET", "SF_DOMAIN", "SF_INSTANCE_URL", "SF_SESSION_ID")
METABASE_KEYS = ("METABASE_API_KEY",)
SLACK_KEYS = ("SLACK_WEBHOOK_URL",)
KNOWN_KEYS = SALESFORCE_KEYS + METABASE_KEYS + SLACK_KEYS

# Names that identify rather than authenticate: they may appear in messages.
NOT_SECRET = frozenset({"SF_USERNAME", "SF_DOMAIN", "SF_INSTANCE_URL"})

# The same values written the Streamlit way, in a section of secrets.toml.
SECTION_KEYS = {
    ("salesforce", "username"): "SF_USERNAME",
    ("salesforce", "password"): "SF_PASSWORD",
    ("salesforce", "security_token"): "SF_SECURITY_TOKEN",
    ("salesforce", "consumer_key"): "SF_CONSUMER_KEY",
    ("salesforce", "consumer_secret"): "SF_CONSUMER_SECRET",
    ("salesforce", "domain"): "SF_DOMAIN",
    ("salesforce", "instance_url"): "SF_INSTANCE_URL",
    ("salesforce", "session_id"): "SF_SESSION_ID",
    ("metabase", "api_key"): "METABASE_API_KEY",
    ("slack", "webhook_url"): "SLACK_WEBHOOK_URL",
}

MASK = "***"


class Secrets:
    """Credential values by their environment-variable name. The repr shows only names."""

    def __init__(self, values: dict[str, str], origins: dict[str, str] | None = None):
        self._values = {k: v for k, v in values.items() if v}
        self._origins = dict(origins or {})

    def get(self, name: str) -> str | None:
        return self._values.get(name)

    def has(self, *names: str) -> bool:
        return all(self.get(n) for n in names)

    def names(self) -> list[str]:
        return sorted(self._values)

    def origin(self, name: str) -> str | None:
        """Where a value came from: 'environment' or the secrets file path."""
        return self._origins.get(name)

    def redact(self, text: str) -> str:
        """`text` with every secret value (and its encoded forms) replaced by ***."""
        text = str(text)
        for form in sorted(self._secret_forms(), key=len, reverse=True):
            text = text.replace(form, MASK)
        return text

    def _secret_forms(self) -> set[str]:
        values = [v for k, v in self._values.items() if k not in NOT_SECRET]
        forms: set[str] = set()
        for v in values:
            forms.update({v, quote(v, safe=""), quote_plus(v)})
            # In a webhook URL the path is the credential: servers echo it back on errors.
            parts = urlsplit(v)
            if parts.scheme in ("http", "https") and len(parts.path) >= 8:
                forms.update({parts.path, parts.path.lstrip("/")})
        key, secret = self.get("SF_CONSUMER_KEY"), self.get("SF_CONSUMER_SECRET")
        if key and secret:
            forms.add(base64.b64encode(f"{key}:{secret}".encode()).decode())
        password, token = self.get("SF_PASSWORD"), self.get("SF_SECURITY_TOKEN")
        if password and token:
            forms.update({password + token, quote_plus(password + token)})
        # Very short values would mask ordinary words; real credentials are long.
        return {f for f in forms if len(f) >= 4}

    def __repr__(self) -> str:
        return f"Secrets(set: {', '.join(self.names()) or 'none'})"


def secrets_files() -> list[Path]:
    """secrets.toml files read, later ones winning: the user's, the project's, the working
    directory's (as Streamlit does), or only the file named by $CS_ANALYTICS_SECRETS."""
    explicit = os.environ.get(SECRETS_ENV)
    if explicit:
        return [Path(explicit)]
    candidates = [Path.home() / ".streamlit" / "secrets.toml",
                  REPO_ROOT / ".streamlit" / "secrets.toml",
                  Path.cwd() / ".streamlit" / "secrets.toml"]
    unique: list[Path] = []
    for path in candidates:
        if path.resolve() not in [p.resolve() for p in unique]:
            unique.append(path)
    return unique


def load_secrets(environ: dict[str, str] | None = None,
                 files: list[Path] | None = None) -> Secrets:
    """Environment variables win over secrets.toml; empty values count as unset."""
    environ = os.environ if environ is None else environ
    values: dict[str, str] = {}
    origins: dict[str, str] = {}
    for path in secrets_files() if files is None else files:
        for name, value in _read_secrets_file(Path(path)).items():
            values[name] = value
            origins[name] = str(path)
    for name in KNOWN_KEYS:
        value = (environ.get(name) or "").strip()
        if value:
            values[name] = value
            origins[name] = "environment"
    return Secrets(values, origins)


def _read_secrets_file(path: Path) -> dict[str, str]:
    if not path.is_file():
        return {}
    raw = read_toml(path)
    found: dict[str, str] = {}
    for name in KNOWN_KEYS:
        if isinstance(raw.get(name), str) and raw[name].strip():
            found[name] = raw[name].strip()
    for (section, key), name in SECTION_KEYS.items():
        table = raw.get(section)
        if isinstance(table, dict) and isinstance(table.get(key), str) and table[key].strip():
            found.setdefault(name, table[key].strip())
    return found
