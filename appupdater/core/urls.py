"""URLs as App Updater shows them: without what may be a credential.

Chat and monitoring services carry their credential in a URL's path (`/services/T0/B0/XXXX`,
`https://ntfy.sh/<secret topic>`), its query (`?token=…`) or its user part (`user:password@`).
Logs, lists, messages and the audit trail show only the scheme, the host and the port, and "/…"
where the URL has more."""

from __future__ import annotations

from urllib.parse import urlsplit


def redacted_url(url: str) -> str:
    """`https://hooks.slack.com/…` for `https://hooks.slack.com/services/T0/B0/XXXX`. Never
    raises: a URL that cannot be read is "(not a valid URL)"."""
    text = url.strip()
    bare = text.split("://", 1)[-1]
    if not any(c in bare for c in "@?#/") and all(
        c.isprintable() and not c.isspace() for c in text
    ):
        return text  # nothing but a scheme, a host and a port ("10.0.3.7:8443" too): as typed
    try:
        parts = urlsplit(text)
        host = parts.hostname or ""
        if parts.port:
            host = f"{host}:{parts.port}"
    except ValueError:
        return "(not a valid URL)"
    if not parts.scheme or not host:
        return "(not a valid URL)"
    user = "…@" if parts.username or parts.password else ""
    more = parts.path not in ("", "/") or parts.query or parts.fragment
    return f"{parts.scheme}://{user}{host}" + ("/…" if more else "")
