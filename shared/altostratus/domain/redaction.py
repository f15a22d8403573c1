"""The one way secrets in URLs and header values are hidden before anyone can read them.

What counts as secret in a URL: the password of its userinfo, and the value of every query
parameter whose name says it holds a credential (`token`, `api_key`, `password`, `sig`,
`X-Amz-Signature`, `code`, ...). Names are split into words (on punctuation and camelCase),
so `access_token` and `apiKey` match while `keyword` does not.
"""

from __future__ import annotations

import base64
import re
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

REDACTED = "***"

# Words that, in a query parameter's name, mark its value as a credential.
_SECRET_WORDS = frozenset(
    {
        "apikey",
        "auth",
        "authorization",
        "bearer",
        "code",
        "credential",
        "credentials",
        "jwt",
        "key",
        "otp",
        "pass",
        "passcode",
        "passwd",
        "password",
        "pin",
        "pwd",
        "secret",
        "session",
        "sessionid",
        "sid",
        "sig",
        "signature",
        "token",
        "totp",
    }
)
_WORD = re.compile(r"[A-Z]?[a-z0-9]+|[A-Z]+(?![a-z])")


def is_secret_param(name: str) -> bool:
    """Whether a query parameter named `name` carries a credential."""
    words = {w.lower() for w in _WORD.findall(name)}
    return bool(words & _SECRET_WORDS) or name.lower().replace("-", "").replace("_", "") in _SECRET_WORDS


def url_secrets(url: str) -> list[str]:
    """The secret values a URL carries (its password, its credential query values)."""
    try:
        parts = urlsplit(url)
        password = parts.password
    except ValueError:
        return []
    found = [password] if password else []
    if password:
        # How a browser sends URL credentials when a site asks for them (HTTP Basic).
        found.append(base64.b64encode(f"{parts.username or ''}:{password}".encode()).decode())
    found += [
        value for name, value in parse_qsl(parts.query, keep_blank_values=True) if is_secret_param(name)
    ]
    return [v for v in found if v]


def redact_url(url: str) -> str:
    """`url` with its password and credential query values replaced by ***; a URL too
    malformed to parse (a port out of range, say) is hidden whole."""
    try:
        parts = urlsplit(url)
        password = parts.password
        port = parts.port
    except ValueError:
        return REDACTED
    netloc = parts.netloc
    if password is not None:
        host = parts.hostname or ""
        if ":" in host:
            host = f"[{host}]"
        netloc = f"{parts.username}:{REDACTED}@{host}" + (f":{port}" if port else "")
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        if any(is_secret_param(name) and value for name, value in pairs):
            query = urlencode(
                [(name, REDACTED if is_secret_param(name) and value else value) for name, value in pairs],
                safe="*",
            )
    if netloc == parts.netloc and query == parts.query:
        return url
    return urlunsplit(parts._replace(netloc=netloc, query=query))


def redact_headers(headers: dict[str, str | None]) -> dict[str, str | None]:
    """Header names kept, every value hidden: any header may carry a credential."""
    return {name: None if value is None else REDACTED for name, value in headers.items()}
