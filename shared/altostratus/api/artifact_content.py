"""An artifact's bytes as an HTTP answer: how it may be shown, revalidation, and byte ranges.

Artifacts hold what the agent met on the web, so only images and video are shown where they
are served; anything else (HTML, SVG, PDF, text, JSON) is a sandboxed download. ETags let a
viewer revalidate instead of downloading again; ranges let a video player seek.
"""

from __future__ import annotations

import hashlib
import mimetypes
import re
from dataclasses import dataclass
from urllib.parse import quote

from aws_lambda_powertools.event_handler import Response

from altostratus.api.errors import RangeNotSatisfiableError
from altostratus.domain.artifacts import renders_inline

DEFAULT_CONTENT_TYPE = "application/octet-stream"
# Shown media still gets a sandbox: were a browser ever to treat it as a document, no script runs.
INLINE_CSP = "sandbox"
DOWNLOAD_CSP = "default-src 'none'; sandbox"
# Offsets longer than 18 digits are beyond any artifact; such a header is simply not matched.
_RANGE = re.compile(r"^\s*bytes\s*=\s*(\d{0,18})\s*-\s*(\d{0,18})\s*$", re.IGNORECASE)
_SAFE_NAME = re.compile(r"[^A-Za-z0-9._ -]")


@dataclass(frozen=True)
class Conditions:
    """The request headers that shape the answer."""

    range: str | None = None
    if_none_match: str | None = None
    if_range: str | None = None


def entity_tag(data: bytes) -> str:
    return f'"{hashlib.sha256(data).hexdigest()}"'


def disposition(content_type: str, filename: str | None, fallback_stem: str) -> str:
    kind = "inline" if renders_inline(content_type) else "attachment"
    name = filename or fallback_stem + (mimetypes.guess_extension(content_type.split(";")[0].strip()) or "")
    # A plain-ASCII name for every client, the exact one (RFC 6266 `filename*`) for those that
    # read it; neither can break out of the header.
    plain = _SAFE_NAME.sub("_", name)[:150] or "download"
    return f"{kind}; filename=\"{plain}\"; filename*=UTF-8''{quote(name, safe='')}"


def _matches(if_none_match: str, tag: str) -> bool:
    candidates = [c.strip() for c in if_none_match.split(",")]
    # Weak comparison, as RFC 9110 asks for If-None-Match.
    return "*" in candidates or tag in (c.removeprefix("W/") for c in candidates)


def _byte_range(header: str, size: int) -> tuple[int, int] | None:
    """The one range asked for, as (first, last) inclusive; None to answer the whole body.
    Raises RangeNotSatisfiableError when the range lies outside the body."""
    found = _RANGE.match(header)
    if found is None:
        return None  # several ranges or another unit: a server may answer the whole body
    first_text, last_text = found.groups()
    if not first_text and not last_text:
        return None
    if not first_text:
        suffix = int(last_text)
        if suffix == 0 or size == 0:
            raise _unsatisfiable(header, size)
        return max(size - suffix, 0), size - 1
    first = int(first_text)
    if last_text and int(last_text) < first:
        return None  # not a valid range: ignored, as RFC 9110 says
    if first >= size:
        raise _unsatisfiable(header, size)
    last = int(last_text) if last_text else size - 1
    return first, min(last, size - 1)


def _unsatisfiable(header: str, size: int) -> RangeNotSatisfiableError:
    return RangeNotSatisfiableError(
        f"The range {header.strip()[:100]!r} lies outside this artifact's {size} bytes.",
        headers={"Content-Range": f"bytes */{size}", "Accept-Ranges": "bytes"},
    )


def content_response(
    data: bytes,
    *,
    content_type: str | None,
    filename: str | None,
    fallback_stem: str,
    conditions: Conditions,
) -> Response[bytes]:
    media = content_type or DEFAULT_CONTENT_TYPE
    tag = entity_tag(data)
    headers = {
        "ETag": tag,
        "Accept-Ranges": "bytes",
        # Revalidate every time: the same URL may be asked for with another key or link.
        "Cache-Control": "private, no-cache",
        "Content-Security-Policy": INLINE_CSP if renders_inline(media) else DOWNLOAD_CSP,
    }
    if conditions.if_none_match is not None and _matches(conditions.if_none_match, tag):
        return Response(status_code=304, headers=headers, body=b"")
    headers["Content-Disposition"] = disposition(media, filename, fallback_stem)
    wanted = None
    if conditions.range is not None and (conditions.if_range is None or conditions.if_range.strip() == tag):
        wanted = _byte_range(conditions.range, len(data))
    if wanted is None:
        headers["Content-Length"] = str(len(data))
        return Response(status_code=200, content_type=media, body=data, headers=headers)
    first, last = wanted
    headers["Content-Range"] = f"bytes {first}-{last}/{len(data)}"
    headers["Content-Length"] = str(last - first + 1)
    return Response(status_code=206, content_type=media, body=data[first : last + 1], headers=headers)
