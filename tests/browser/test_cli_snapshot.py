"""`alto snapshot`: the representation the model would get, as text or JSON."""

from __future__ import annotations

import json

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
