"""The TLS context the model SDKs' HTTP clients share.

Each SDK client builds its own TLS context by default, loading the certificate store again:
about 40 ms of CPU on the event loop, paid by the first model call of every slice (a client
belongs to one event loop). One context, made the way the SDKs make theirs, serves them all.
"""

from __future__ import annotations

import functools
import ssl

import httpx2


@functools.cache
def tls_context() -> ssl.SSLContext:
    """The SDKs' default verification (system trust, `SSL_CERT_FILE`/`SSL_CERT_DIR`), made once."""
    return httpx2.create_ssl_context()
