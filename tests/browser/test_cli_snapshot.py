"""`alto snapshot`: the representation the model would get, as text or JSON."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from altostratus.cli.main import main
from tests.support.fixture_site import SITE_ROOT

pytestmark = pytest.mark.browser  # each test starts its own Chromium, as the command does


def test_snapshot_of_a_saved_page_as_json(capsys: pytest.CaptureFixture[str]) -> None:
    # GIVEN a saved HTML file WHEN it is snapshotted with --json --full
    code = main(["snapshot", str(SITE_ROOT / "controls.html"), "--json", "--full"])
    # THEN one JSON object with the text, the elements, the token count and the time
    assert code == 0
    data = json.loads(capsys.readouterr().out)
    assert set(data) == {"text", "elements", "tokens", "ms"}
    email = next(e for e in data["elements"] if e["name"] == "Email")
    assert email["role"] == "textbox" and email["tag"] == "input" and email["frame"] == "main"
    assert email["selectors"]["css"] == "#email" and email["in_viewport"] is True
    assert f'{email["id"]} textbox "Email"' in data["text"]
    assert data["tokens"] > 0 and data["ms"] > 0


def test_snapshot_prints_the_line_format(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["snapshot", str(SITE_ROOT / "modal.html")]) == 0
    out = capsys.readouterr()
    assert out.out.startswith('Page: "Modal"')
    assert '[dialog "Subscribe and save"] modal' in out.out
    assert "tokens" in out.err


def test_the_whole_page_keeps_its_text(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # GIVEN a page of headings and paragraphs, the second part far below the first screen
    page = tmp_path / "notes.html"
    page.write_text(
        "<!doctype html><html><head><title>Field notes</title></head><body>"
        "<h1>Field notes</h1><p>The heron waits at the edge of the reeds.</p>"
        '<div style="height: 2400px"></div>'
        "<h2>Evening</h2><p>At dusk the swifts come back to the old tower.</p>"
        '<p><a href="/more.html">Read more</a></p></body></html>',
        encoding="utf-8",
    )
    # WHEN the whole page is snapshotted
    assert main(["snapshot", str(page), "--full"]) == 0
    out = capsys.readouterr().out
    # THEN its text is there with its headings and its link, below the first screen too
    assert "# Field notes" in out and "## Evening" in out
    assert '"The heron waits at the edge of the reeds."' in out
    assert '"At dusk the swifts come back to the old tower."' in out
    assert 'link "Read more"' in out
