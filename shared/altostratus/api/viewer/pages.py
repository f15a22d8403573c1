"""The viewer's pages and assets: one HTML shell (the script draws each page) and its files,
all shipped inside the package, nothing from another origin."""

from __future__ import annotations

import html
from functools import cache
from importlib import resources

# Served as /viewer/static/<name>; nothing else in the folder is reachable.
ASSETS = {
    "viewer.js": "text/javascript; charset=utf-8",
    "viewer.css": "text/css; charset=utf-8",
    "favicon.svg": "image/svg+xml",
}
PAGES = frozenset({"signin", "runs", "run", "session"})


@cache
def asset(name: str) -> bytes:
    return (resources.files("altostratus.api.viewer") / "static" / name).read_bytes()


def shell(page: str, *, base: str) -> str:
    """The HTML of one viewer page; `base` is the path prefix a proxy in front adds (or "")."""
    assert page in PAGES
    text = asset("index.html").decode()
    return text.replace("{{BASE}}", html.escape(base, quote=True)).replace("{{PAGE}}", page)


def page_policy(media_origins: tuple[str, ...]) -> str:
    """The pages run only their own script and style; images and video also come from where
    the artifact store's signed links point (S3 on AWS)."""
    media = " ".join(("'self'", *media_origins))
    return (
        "default-src 'none'; script-src 'self'; style-src 'self'; "
        f"img-src {media}; media-src {media}; connect-src 'self'; "
        "frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
    )
