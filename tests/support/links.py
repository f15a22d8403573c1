"""Every artifact link an API answer hands out, fetched as whoever receives it would (with
nothing but the link's signature) and compared byte for byte with what the artifact store
holds: a link that answers 200 with the wrong bytes (another artifact's, a truncated or
re-encoded body) is as broken for its user as one that answers 404."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx

ARTIFACT_LINK = re.compile(r"^/v1/artifacts/([^/?]+)/content$")


@dataclass(frozen=True)
class Fetched:
    where: str  # the answer's field the link came from, e.g. "screenshot_urls[0]"
    link: str
    artifact_id: str
    data: bytes


def link_artifact_id(link: str) -> str:
    found = ARTIFACT_LINK.match(urlsplit(link).path)
    assert found is not None, f"not an artifact link: {link}"
    return found.group(1)


def links_in(answer: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(field, link) for every artifact link in one answer: a run (GET /v1/runs/{id}, a webhook
    body), a browser session (its files and recordings), an artifact (its signed_url), or the
    viewer's run and session details (their artifacts and latest screenshot)."""
    found: list[tuple[str, str]] = []
    for n, url in enumerate(answer.get("screenshot_urls") or []):
        found.append((f"screenshot_urls[{n}]", url))
    if answer.get("recording_url"):
        found.append(("recording_url", answer["recording_url"]))
    for name in ("downloaded_files", "recordings"):
        for n, item in enumerate(answer.get(name) or []):
            assert item["url"], (name, item)
            if item.get("artifact_id") is not None:
                assert link_artifact_id(item["url"]) == item["artifact_id"], item
            found.append((f"{name}[{n}]", item["url"]))
    if answer.get("latest_screenshot"):
        latest = answer["latest_screenshot"]
        assert link_artifact_id(latest["url"]) == latest["artifact_id"], latest
        found.append(("latest_screenshot", latest["url"]))
    if "signed_url" in answer:
        assert answer["signed_url"], answer
        assert link_artifact_id(answer["signed_url"]) == answer["artifact_id"], answer
        found.append((f"signed_url of {answer['artifact_id']}", answer["signed_url"]))
    return found


def assert_links_answer_stored_bytes(
    answers: Iterable[Mapping[str, Any]],
    *,
    fetch: Callable[[str], tuple[int, bytes]],
    uris: Mapping[str, str],
    read: Callable[[str], bytes],
) -> list[Fetched]:
    """Fetches every link in `answers` with `fetch` (link -> status, body; no key) and checks it
    answers 200 with exactly the bytes the store holds for its artifact: `uris` maps the ids of
    the artifacts the answers may link to (the run's) to where they are stored, `read` reads a
    stored artifact as the store holds it. Returns what was fetched, so a caller can check which
    links there were and search what they answered."""
    fetched = []
    for answer in answers:
        for where, link in links_in(answer):
            artifact_id = link_artifact_id(link)
            assert artifact_id in uris, f"{where} links to {artifact_id}, not one of {sorted(uris)}"
            status, data = fetch(link)
            assert status == 200, (where, link, status)
            expected = read(uris[artifact_id])
            assert data == expected, (where, artifact_id, len(data), len(expected))  # byte for byte
            fetched.append(Fetched(where, link, artifact_id, data))
    return fetched


def http_fetch(link: str) -> tuple[int, bytes]:
    """A link fetched over HTTP as a browser or a script would, without a key (a redirect is
    answered as it is: the embedded server serves every artifact itself)."""
    reply = httpx.get(link, timeout=30)
    return reply.status_code, reply.content
