"""Perception benchmark: what a snapshot of a real page costs, and what it misses.

Serves the page corpus (``../shared/corpus/pages`` from the repository root, or
``ALTO_CORPUS_DIR``) from 127.0.0.1 with every other host blocked, opens each page in headless
Chromium and measures, per corpus folder and overall:

- tokens (cl100k_base) of the viewport and of the full-page representation (each with the
  page's text, its blocks cut at the same length);
- interactive elements listed in the full-page representation;
- snapshot time (wall clock of ``BrowserSession.snapshot()``, median of three per page);
- the same tokens and time for Playwright's ``page.aria_snapshot(mode="ai")`` in the same run;
- coverage: the share of visible, named interactive accessibility nodes (Chromium's own
  accessibility tree, read separately for every frame) whose element is listed in the
  full-page representation.

"Real pages" are readability, browsy without its hand-written fixtures, and flipkart; the last
line of output is one JSON object with the figures over them.

Run: ``.venv/bin/python bench/perception.py``
"""

from __future__ import annotations

import asyncio
import functools
import json
import os
import statistics
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from altostratus.adapters.browser import BrowserRuntime, BrowserSession, LaunchConfig, SessionConfig
from altostratus.adapters.browser.perception.capture import capture_page
from altostratus.adapters.browser.perception.dom import VISIBILITY
from altostratus.adapters.browser.tokens import count_tokens
from altostratus.security.targets import TargetPolicy

REPO = Path(__file__).resolve().parents[1]
COVERAGE_ROLES = frozenset(
    {
        "button",
        "link",
        "textbox",
        "searchbox",
        "checkbox",
        "radio",
        "combobox",
        "listbox",
        "option",
        "menuitem",
        "tab",
        "switch",
        "slider",
        "spinbutton",
    }
)
REPEATS = 3


@dataclass
class PageResult:
    folder: str
    name: str
    real: bool
    view_tokens: int = 0
    full_tokens: int = 0
    elements: int = 0
    snapshot_ms: float = 0.0
    aria_tokens: int = 0
    aria_ms: float = 0.0
    expected: int = 0
    covered: int = 0
    missed: list[str] = field(default_factory=list)
    error: str = ""


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        return


@contextmanager
def serve(folder: Path) -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(folder)))
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def corpus_dir() -> Path:
    override = os.environ.get("ALTO_CORPUS_DIR")
    return Path(override) if override else (REPO.parent / "shared" / "corpus" / "pages")


def pages(root: Path) -> list[tuple[str, str, bool]]:
    """(folder, file, is a real page) for every HTML file of the corpus."""
    fixtures: set[str] = set()
    manifest = root / "browsy" / "manifest.json"
    if manifest.exists():
        for entry in json.loads(manifest.read_text())["snapshots"]:
            if not str(entry["url"]).startswith("http") or entry["file"].startswith("fixture-"):
                fixtures.add(entry["file"])
    found = []
    for folder in sorted(p for p in root.iterdir() if p.is_dir()):
        for file in sorted(folder.glob("*.html")):
            found.append((folder.name, file.name, not (folder.name == "browsy" and file.name in fixtures)))
    return found


async def _timed(work: Any) -> tuple[Any, float]:
    started = time.perf_counter()
    result = await work
    return result, (time.perf_counter() - started) * 1000


async def coverage(
    session: BrowserSession, full_text: str, elements: list[Any]
) -> tuple[int, int, list[str]]:
    """(expected, covered, first misses) against Chromium's accessibility tree."""
    tab = session._tabs.active
    assert tab is not None
    capture = await capture_page(tab.targets)
    listed_ids = {line.split(" ", 1)[0].strip() for line in full_text.splitlines()}
    listed = {(e.ref.target, e.ref.frame_id, e.ref.backend_node_id) for e in elements if e.id in listed_ids}
    expected = covered = 0
    misses: list[str] = []
    for tc in capture.targets:
        for doc in tc.docs:
            visible: set[int] = set()
            for node, layout in doc.layout_of.items():
                _x, _y, w, h = doc.bounds[layout][:4]
                if w > 0 and h > 0 and doc.style(layout, VISIBILITY) in ("visible", ""):
                    visible.add(doc.backend_id[node])
            try:
                tree = await tc.target.cdp.send("Accessibility.getFullAXTree", {"frameId": doc.frame_id})
            except Exception:  # a frame that went away while measuring
                continue
            for node in tree.get("nodes", []):
                role = str((node.get("role") or {}).get("value") or "")
                name = str((node.get("name") or {}).get("value") or "").strip()
                backend = node.get("backendDOMNodeId")
                if node.get("ignored") or role not in COVERAGE_ROLES or not name or backend not in visible:
                    continue
                expected += 1
                if (tc.target.key, doc.frame_id, backend) in listed:
                    covered += 1
                elif len(misses) < 5:
                    misses.append(f"{role} {name[:40]!r}")
    return expected, covered, misses


async def measure(session: BrowserSession, url: str, result: PageResult) -> None:
    report = await session.goto(url)
    if not report.ok and not report.downloads:
        result.error = report.summary
        return
    times = []
    view = None
    for _ in range(REPEATS):
        view, ms = await _timed(session.snapshot())
        times.append(ms)
    assert view is not None
    result.snapshot_ms = statistics.median(times)
    result.view_tokens = view.tokens
    full = await session.snapshot(full=True)
    result.full_tokens = full.tokens
    result.elements = sum(1 for e in full.elements if e.role != "iframe")
    aria_times = []
    aria = ""
    for _ in range(REPEATS):
        aria, ms = await _timed(session.page.aria_snapshot(mode="ai"))
        aria_times.append(ms)
    result.aria_ms = statistics.median(aria_times)
    result.aria_tokens = count_tokens(aria)
    result.expected, result.covered, result.missed = await coverage(session, full.text, list(full.elements))


def spread(values: list[float]) -> str:
    if not values:
        return "-"
    ordered = sorted(values)
    p90 = ordered[min(len(ordered) - 1, round(0.9 * (len(ordered) - 1)))]
    return f"{statistics.median(ordered):>7.0f} {p90:>7.0f} {ordered[-1]:>7.0f}"


def median(values: list[float]) -> float:
    return float(statistics.median(values)) if values else 0.0


def print_table(groups: dict[str, list[PageResult]]) -> None:
    head = (
        f"{'group':<22}{'pages':>6} | {'view tokens med/p90/max':>24} | {'full tokens':>24} | "
        f"{'elements':>24} | {'snapshot ms':>24} | {'aria-ai tokens':>24} | {'aria-ai ms':>24} | coverage"
    )
    print(head)
    print("-" * len(head))
    for name, rows in groups.items():
        ok = [r for r in rows if not r.error]
        expected = sum(r.expected for r in ok)
        covered = sum(r.covered for r in ok)
        share = f"{100 * covered / expected:6.2f}% ({covered}/{expected})" if expected else "-"
        print(
            f"{name:<22}{len(ok):>6} | {spread([r.view_tokens for r in ok]):>24} | "
            f"{spread([r.full_tokens for r in ok]):>24} | {spread([r.elements for r in ok]):>24} | "
            f"{spread([r.snapshot_ms for r in ok]):>24} | {spread([r.aria_tokens for r in ok]):>24} | "
            f"{spread([r.aria_ms for r in ok]):>24} | {share}"
        )


async def main() -> int:
    root = corpus_dir()
    if not root.is_dir():
        print(f"corpus not found at {root} (set ALTO_CORPUS_DIR)", file=sys.stderr)
        return 2
    found = pages(root)
    results: list[PageResult] = []
    with serve(root) as base:
        # Every host but 127.0.0.1 is refused: saved pages must not reach the internet.
        policy = TargetPolicy.parse("", allow_loopback=True, allow_public=False)
        runtime = await BrowserRuntime.start(LaunchConfig(), policy=policy)
        try:
            session = await runtime.new_session(SessionConfig())
            for index, (folder, name, real) in enumerate(found, start=1):
                result = PageResult(folder, name, real)
                try:
                    await measure(session, f"{base}/{folder}/{name}", result)
                except Exception as exc:  # one broken page must not end the benchmark
                    result.error = f"{type(exc).__name__}: {exc}"[:200]
                    await session.close()
                    session = await runtime.new_session(SessionConfig())
                results.append(result)
                status = result.error or (
                    f"view {result.view_tokens:>5} full {result.full_tokens:>6} el {result.elements:>5} "
                    f"{result.snapshot_ms:>6.0f} ms | aria {result.aria_tokens:>6} {result.aria_ms:>6.0f} ms "
                    f"| cov {result.covered}/{result.expected}"
                )
                print(f"[{index:>3}/{len(found)}] {folder}/{name:<48} {status}", flush=True)
            await session.close()
        finally:
            await runtime.close()
    groups: dict[str, list[PageResult]] = {}
    for r in results:
        key = r.folder if r.real else f"{r.folder} (fixtures)"
        groups.setdefault(key, []).append(r)
    real = [r for r in results if r.real and not r.error]
    groups["real pages"] = real
    groups["all pages"] = [r for r in results if not r.error]
    print()
    print_table(groups)
    misses = sorted(
        (r for r in real if r.expected and r.covered < r.expected), key=lambda r: r.covered / r.expected
    )
    if misses:
        print("\nLowest coverage (real pages):")
        for r in misses[:8]:
            print(f"  {r.folder}/{r.name}: {r.covered}/{r.expected} missing e.g. {', '.join(r.missed)}")
    errors = [r for r in results if r.error]
    for r in errors:
        print(f"  error: {r.folder}/{r.name}: {r.error}")
    expected = sum(r.expected for r in real)
    summary = {
        "viewport_tokens_median": median([r.view_tokens for r in real]),
        "full_tokens_median": median([r.full_tokens for r in real]),
        "coverage": round(sum(r.covered for r in real) / expected, 4) if expected else 0.0,
        "snapshot_ms_median": round(median([r.snapshot_ms for r in real]), 1),
        "aria_ai_tokens_median": median([r.aria_tokens for r in real]),
        "aria_ai_ms_median": round(median([r.aria_ms for r in real]), 1),
        "pages": len(real),
    }
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
