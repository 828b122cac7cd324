"""Where the app may be reached from: without sign-in, only from this computer (localhost).

Reaching it from the network needs `[auth]` in .streamlit/secrets.toml (sign-in) or the
explicit `server.allow_anonymous = true` in cs_analytics.toml. `python -m cs_analytics serve`
(what `make run` starts) refuses to listen beyond localhost otherwise, and the app itself
refuses to show anything when it finds it is reachable from elsewhere anyway (started by hand
with another address, or behind a proxy), so the rule holds however Streamlit was started.
"""

from __future__ import annotations

import ipaddress
from pathlib import Path

from cs_analytics.config import REPO_ROOT, Settings, read_toml
from cs_analytics.errors import CsAnalyticsError
from cs_analytics.secrets import secrets_files

LOCAL_ADDRESS = "127.0.0.1"
DEFAULT_PORT = 8501
LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost",
                            "ip6-loopback"})
# Headers a reverse proxy adds: a request carrying one came from another computer.
FORWARDED_HEADERS = ("forwarded", "x-forwarded-for", "x-forwarded-host", "x-real-ip")


class ExposedWithoutAuth(CsAnalyticsError):
    """The app would be reachable from other computers without sign-in."""


def is_loopback(host: str | None) -> bool:
    """True for a name or address of this computer only (localhost, 127.0.0.0/8, ::1).
    An unset or empty address means every interface, which is not."""
    if not host:
        return False
    name = host.strip().strip("[]").lower()
    if name in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def host_of(header: str | None) -> str | None:
    """The host part of a Host header value ("localhost:8501", "[::1]:8501")."""
    if not header:
        return None
    value = header.strip()
    if value.startswith("["):
        return value[1:].split("]", 1)[0]
    return value.rsplit(":", 1)[0] if value.count(":") == 1 else value


def auth_configured(files: list[Path] | None = None) -> bool:
    """Whether sign-in is configured: an `[auth]` section in a secrets.toml Streamlit reads
    (the same files as `cs_analytics.secrets`). A file that cannot be read counts as
    configured: the app then fails closed, asking for a sign-in it cannot complete."""
    for path in secrets_files() if files is None else files:
        if not Path(path).is_file():
            continue
        try:
            if "auth" in read_toml(Path(path)):
                return True
        except CsAnalyticsError:
            return True
    return False


def anonymous_allowed(address: str | None, settings: Settings) -> bool:
    """Whether an app without sign-in may listen on `address`."""
    return settings.server.allow_anonymous or is_loopback(address)


def refusal(address: str | None, settings: Settings) -> str:
    """The one sentence `serve` fails with when `address` needs sign-in."""
    where = address if address else "every network interface"
    return (f"refusing to serve on {where} without sign-in: anyone on the network would see "
            "every customer's figures. Configure sign-in ([auth] in .streamlit/secrets.toml, "
            "see docs/operations.md \"Security model\"), or set server.allow_anonymous = true "
            "in cs_analytics.toml to allow anonymous access on purpose")


def remote_origin(address: str | None, peer: str | None, headers: dict[str, str]) -> str | None:
    """Where a request to an app without sign-in shows it is reachable from another computer
    — the server's listening address (None: every interface), the connection's peer, or a
    proxy's headers — or None when it is reachable from this computer only. The listening
    address is the guarantee; the request is checked too, for a local proxy or port forward
    that carries other computers' requests to a localhost server."""
    if not is_loopback(address):
        return address or "0.0.0.0"
    if peer and not is_loopback(peer):
        return peer
    lowered = {k.lower(): v for k, v in headers.items()}
    for name in FORWARDED_HEADERS:
        if lowered.get(name):
            return f"{name}: {lowered[name]}"
    host = host_of(lowered.get("host"))
    if host and not is_loopback(host):
        return host
    return None


def streamlit_command(python: str, address: str, port: int, files: list[Path] | None = None,
                      headless: bool = False) -> list[str]:
    """The `streamlit run app.py` command of `serve`: the address always given explicitly (a
    config.toml elsewhere cannot widen it), and Streamlit reading the same secrets files as
    the check above."""
    command = [python, "-m", "streamlit", "run", str(REPO_ROOT / "app.py"),
               f"--server.address={address}", f"--server.port={port}"]
    for path in secrets_files() if files is None else files:
        if Path(path).is_file():
            command.append(f"--secrets.files={path}")
    if headless:
        command.append("--server.headless=true")
    return command
