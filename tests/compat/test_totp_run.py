"""2FA end to end: a run with a `totp_identifier` reaches a 2FA page whose server checks the
code, the test pushes the code with the official SDK, and the agent types it without the model
ever seeing it; codes the run may not use are never typed. The server keeps every slice's
trace and logs down to debug, and one test searches everything it leaves (model requests,
events, artifacts and trace members, API answers, logs, every file) for each secret its runs
used: codes pushed, emailed, pulled and made, a password, its authenticator secret, a card."""

from __future__ import annotations

import io
import json
import os
import re
import time
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_plus

import pyotp
import pytest
from skyvern.client import NonEmptyCreditCardCredential, NonEmptyPasswordCredential
from skyvern.client import Skyvern as SkyvernClient
from skyvern.client.core.api_error import ApiError

from altostratus.devtools.fake_anthropic.server import (
    Exchange,
    FakeAnthropicServer,
    HttpError,
    MessagesRequest,
)
from altostratus.domain import otp
from altostratus.domain.credentials import login_goal
from altostratus.domain.models import DEFAULT_CHEAP_MODEL
from altostratus.engine.agent import verification as vc
from altostratus.runtimes.local import build_local
from altostratus.runtimes.settings import Settings
from tests.agent.scenarios import click, type_text
from tests.fakes.anthropic_server import Reply, ToolUse
from tests.fakes.policies import Page, act, agent_policy, done
from tests.support.links import assert_links_answer_stored_bytes, http_fetch
from tests.support.server import RunningServer, alto, alto_serve
from tests.support.two_factor_site import TwoFactorSite, two_factor_site
from tests.support.webhook_receiver import WebhookReceiver, running, statuses

pytestmark = pytest.mark.browser

IDENTIFIER = "john.doe@example.com"
TIMEOUT_S = 6
TERMINAL = {"completed", "failed", "terminated", "timed_out", "canceled"}


_USERNAME = re.compile(r"\{\{secret:(cred_[A-Za-z0-9_]+)\.username\}\}")
_CARD = re.compile(r"\{\{secret:(cred_[A-Za-z0-9_]+)\.card_number\}\}")


def agent(page: Page) -> Reply:
    told = page.request.all_user_text()
    if page.sees("Verified"):
        return done("Signed in with the emailed code.")
    if page.sees("Payment accepted"):
        return done("Paid for the order.")
    if page.sees("Card number") and (card := _CARD.search(json.dumps(page.request.body))):
        # A checkout run: the goal names the saved card's placeholders, typed as written.
        cred = card.group(1)
        return act(
            type_text(page.element("Card number"), "{{secret:" + cred + ".card_number}}"),
            type_text(page.element("CVV"), "{{secret:" + cred + ".card_cvv}}"),
            click(page.element("Pay", role="button")),
        )
    if page.sees("Password") and (named := _USERNAME.search(json.dumps(page.request.body))):
        # A login run: the goal names the saved credential's placeholders, typed as written.
        cred = named.group(1)
        return act(
            type_text(page.element("Username"), "{{secret:" + cred + ".username}}"),
            type_text(page.element("Password"), "{{secret:" + cred + ".password}}"),
            click(page.element("Sign in", role="button")),
        )
    if page.sees("Wrong code"):
        return Reply.of(ToolUse("terminate", {"reason": "The site refused the code."}))
    if "was obtained" not in told:
        return act(ToolUse("request_verification_code", {"reason": "The page asks for the emailed code."}))
    if "boxes=6" in page.url:
        boxes = [page.element(f"Digit {n}") for n in range(1, 7)]
    else:
        boxes = [page.element("Verification code")]
    return act(
        ToolUse("enter_verification_code", {"element_ids": boxes}),
        click(page.element("Verify", role="button")),
    )


def reading(
    policy: Callable[[MessagesRequest], Reply | HttpError],
) -> Callable[[MessagesRequest], Reply | HttpError]:
    """`policy`, and the cheaper model reading a pushed message: it reports the digits the
    message spells out (or nothing when it has none), the way a model would read them."""

    def read(request: MessagesRequest) -> Reply | HttpError:
        if request.forced_tool != otp.READ_TOOL:
            return policy(request)
        digits = "".join(c for c in request.last_user_text() if c.isdigit())
        return Reply.of(ToolUse(otp.READ_TOOL, {"code": digits or None, "magic_link": None}))

    return read


def model_reads(model: FakeAnthropicServer) -> list[Exchange]:
    return [x for x in model.exchanges if (x.body.get("tool_choice") or {}).get("name") == otp.READ_TOOL]


@pytest.fixture(scope="module")
def model() -> Iterator[FakeAnthropicServer]:
    with FakeAnthropicServer(reading(agent_policy(agent))) as server:
        yield server


@pytest.fixture(scope="module")
def served(
    tmp_path_factory: pytest.TempPathFactory, model: FakeAnthropicServer
) -> Iterator[tuple[RunningServer, str]]:
    data_dir: Path = tmp_path_factory.mktemp("alto-totp")
    key = alto("keys", "create", "--org", "totp", data_dir=data_dir).strip()
    env = {
        **os.environ,
        "ANTHROPIC_API_KEY": model.api_key,
        "ALTO_ANTHROPIC_BASE_URL": model.base_url,
        "ALTO_TOTP_POLL_SECONDS": "0.2",
        "ALTO_TOTP_TIMEOUT_SECONDS": str(TIMEOUT_S),
        # The totp_url receivers listen on this machine.
        "ALTO_ALLOWED_TARGETS": "127.0.0.1",
        # Every slice's Playwright trace is kept, and every log line down to debug, so the
        # secrets checks read the most a run can leave behind.
        "ALTO_TRACE": "true",
        "ALTO_LOG_LEVEL": "debug",
        "ALTO_LOG_FORMAT": "json",
    }
    with alto_serve(data_dir, env=env) as server:
        yield server, key


def _client(served: tuple[RunningServer, str]) -> SkyvernClient:
    return SkyvernClient(base_url=served[0].base_url, api_key=served[1], timeout=30)


def _wait(client: SkyvernClient, run_id: str, statuses: set[str]) -> Any:
    deadline = time.monotonic() + 90
    while (run := client.get_run(run_id)).status not in statuses:
        assert time.monotonic() < deadline, run
        time.sleep(0.1)
    return run


def _start(client: SkyvernClient, site: TwoFactorSite, path: str, *, totp_url: str | None = None) -> str:
    run = client.run_task(
        prompt="Sign in; the site emails a verification code.",
        url=site.url(path),
        engine="skyvern-1.0",
        totp_url=totp_url,
        totp_identifier=None if totp_url else "John.Doe@Example.com",
    )
    _wait(client, run.run_id, {"running", *TERMINAL})
    return str(run.run_id)


def test_codes_pushed_with_the_sdk_are_typed_only_by_the_run_that_may_use_them(
    served: tuple[RunningServer, str], model: FakeAnthropicServer
) -> None:
    client = _client(served)
    typed_codes = ["482913", "735164"]
    # GIVEN a run on a page with a box per digit, and its code pushed as an email body
    with two_factor_site(expected=typed_codes[0]) as site:
        first = _start(client, site, "/2fa?boxes=6")
        client.send_totp_code(
            totp_identifier=IDENTIFIER, content=f"Your verification code is {typed_codes[0]}.", source="email"
        )
        # THEN the code is typed, one digit per box, and accepted
        done_run = _wait(client, first, TERMINAL)
        errors = [x.response for x in model.exchanges if x.status != 200]
        assert done_run.status == "completed", (done_run.failure_reason, [str(e)[-600:] for e in errors[:1]])
        assert site.attempts == [typed_codes[0]]
    # GIVEN a code pushed before the next run starts (stale for it)
    client.send_totp_code(totp_identifier=IDENTIFIER, content="333333")
    time.sleep(0.05)
    with two_factor_site(expected=typed_codes[1]) as site:
        second = _start(client, site, "/2fa")
        # AND, after it started, a code scoped to the first run and an expired one
        client.send_totp_code(totp_identifier=IDENTIFIER, content="111111", task_id=first)
        client.send_totp_code(
            totp_identifier=IDENTIFIER, content="222222", expired_at=datetime.now(UTC) - timedelta(minutes=1)
        )
        time.sleep(1.0)  # several polls see only codes this run may not use
        assert site.attempts == []
        # WHEN its own code arrives, scoped to it
        client.send_totp_code(totp_identifier=IDENTIFIER, content=typed_codes[1], task_id=second)
        run = _wait(client, second, TERMINAL)
        # THEN only that code was typed
        assert run.status == "completed", run.failure_reason
        assert site.attempts == [typed_codes[1]]
        answers = [
            client.get_run(second).json(),
            json.dumps([e.dict() for e in client.get_run_timeline(second)], default=str),
            json.dumps([a.dict() for a in client.get_run_artifacts(second)], default=str),
        ]
    # AND no code reached the model, the events, the artifacts, the API's answers or the files
    runtime = build_local(Settings(data_dir=served[0].data_dir))
    try:
        events = [
            json.dumps([e.model_dump(mode="json") for e in runtime.event_log.read(r)])
            for r in (first, second)
        ]
        stored = [
            runtime.artifacts.get(a.uri).decode(errors="replace")
            for r in (first, second)
            for a in runtime.event_log.list_artifacts(r)
        ]
    finally:
        runtime.close()
    texts = {
        "model requests": "\n".join(model.requests_text()),
        "events": "\n".join(events),
        "artifacts": "\n".join(stored),
        "answers": "\n".join(answers),
        "files": "\n".join(
            p.read_bytes().decode("latin-1") for p in served[0].data_dir.rglob("*") if p.is_file()
        ),
    }
    assert "request_verification_code" in texts["model requests"]
    for where, text in texts.items():
        assert [c for c in typed_codes if c in text] == [], where


def test_a_run_whose_code_never_arrives_fails_with_the_reason(served: tuple[RunningServer, str]) -> None:
    client = _client(served)
    with two_factor_site(expected="999999") as site:
        run_id = _start(client, site, "/2fa")
        run = _wait(client, run_id, TERMINAL)
        assert run.status == "failed"
        assert f"No verification code was pushed for the run's totp_identifier within {TIMEOUT_S}" in (
            run.failure_reason or ""
        )
        assert site.attempts == []


def _code_body(code: str) -> bytes:
    return json.dumps({"verification_code": code}).encode()


def test_a_run_with_a_totp_url_types_the_code_its_signed_endpoint_answers(
    served: tuple[RunningServer, str], model: FakeAnthropicServer
) -> None:
    client = _client(served)
    code = "604217"
    # GIVEN an endpoint that has no code for the first two asks, then has it
    answers = [_code_body(""), _code_body(""), _code_body(code)]
    receiver = WebhookReceiver(body_script=lambda n: answers[min(n, len(answers)) - 1])
    with running(receiver), two_factor_site(expected=code) as site:
        # WHEN a run with that totp_url reaches the 2FA page
        run_id = _start(client, site, "/2fa", totp_url=receiver.url)
        run = _wait(client, run_id, TERMINAL)
        # THEN it types the third answer's code and completes
        assert run.status == "completed", run.failure_reason
        assert site.attempts == [code]
    # AND each ask was a POST of the run's id, signed with the key that created the run
    assert len(receiver.received) == 3
    for asked in receiver.received:
        assert asked.json() == {"task_id": run_id}
        assert asked.skyvern_signature_ok(served[1]) and asked.standard_signature_ok(served[1])
        assert asked.headers["x-skyvern-timestamp"].isdigit()
    assert len({asked.webhook_id for asked in receiver.received}) == 3
    # AND the code reached neither the model nor the API's answers about the run
    assert code not in "\n".join(model.requests_text())
    shown = client.get_run(run_id).json() + json.dumps(
        [e.dict() for e in client.get_run_timeline(run_id)], default=str
    )
    assert code not in shown


def test_a_run_whose_totp_url_never_has_a_code_fails_listing_what_it_answered(
    served: tuple[RunningServer, str],
) -> None:
    client = _client(served)
    # GIVEN an endpoint that fails once, then never has a code
    receiver = WebhookReceiver(script=statuses(503, 200), body_script=lambda n: _code_body(""))
    with running(receiver), two_factor_site(expected="777777") as site:
        run = _wait(client, _start(client, site, "/2fa", totp_url=receiver.url), TERMINAL)
        # THEN the run fails when the wait ends, and says what the endpoint answered
        assert run.status == "failed"
        reason = run.failure_reason or ""
        assert f"No verification code came from the run's totp_url within {TIMEOUT_S} seconds" in reason
        asks = len(receiver.received)
        assert f"status 503 (1 time), 200 without a code ({asks - 1} times)" in reason
        assert receiver.url not in reason
        assert site.attempts == []


def test_only_a_message_its_patterns_cannot_read_goes_to_the_cheaper_model(
    served: tuple[RunningServer, str], model: FakeAnthropicServer
) -> None:
    client = _client(served)
    before = len(model_reads(model))
    # WHEN an email body with an obvious code is pushed
    obvious = client.send_totp_code(
        totp_identifier="reader@example.com",
        content="Hello John,\n\nYour verification code is 318204. It expires in 10 minutes.\n",
        source="email",
    )
    # THEN its code is found without asking the model
    assert obvious.code == "318204"
    assert len(model_reads(model)) == before
    # WHEN a message spells its code in a way no pattern reads
    odd = client.send_totp_code(
        totp_identifier="reader@example.com",
        content="Hello John, when the site asks, type these digits: 5 5 1 2 0 9. See you soon!",
        source="sms",
    )
    # THEN the cheaper model reads it, in one call
    assert (odd.code, odd.otp_type, odd.dict().get("status")) == ("551209", "totp", None)
    reads = model_reads(model)[before:]
    assert len(reads) == 1
    assert reads[0].body["model"] == DEFAULT_CHEAP_MODEL
    # AND a message the model finds nothing in either stays raw, pending
    raw = client.send_totp_code(
        totp_identifier="reader@example.com", content="Welcome aboard John, there is nothing to type here."
    )
    assert (raw.code, raw.dict().get("status")) == ("", "raw_pending")
    assert len(model_reads(model)) == before + 2


def test_a_saved_credential_is_never_shown_and_logs_in_through_placeholders(
    served: tuple[RunningServer, str], model: FakeAnthropicServer
) -> None:
    client = _client(served)
    username, password, secret = "john.doe", "hunter2-Very-Secret", pyotp.random_base32()
    card_number = "4111111111111111"
    # WHEN a password with an authenticator secret, and a card, are saved
    created = client.create_credential(
        name="Example login",
        credential_type="password",
        credential=NonEmptyPasswordCredential(
            username=username, password=password, totp=secret, totp_type="authenticator"
        ),
    )
    card = client.create_credential(
        name="Company card",
        credential_type="credit_card",
        credential=NonEmptyCreditCardCredential(
            card_number=card_number,
            card_cvv="737",
            card_exp_month="03",
            card_exp_year="2030",
            card_brand="visa",
            card_holder_name="John Doe",
        ),
    )
    # THEN they are answered with what may be shown only
    cred_id = created.credential_id
    assert cred_id.startswith("cred_") and created.credential_type == "password"
    assert created.credential.dict() == {
        "username": username,
        "totp_type": "authenticator",
        "totp_identifier": None,
    }
    assert card.credential.dict() == {"last_four": "1111", "brand": "visa"}
    got = client.get_credential(cred_id)
    assert (got.name, got.credential.dict()["username"]) == ("Example login", username)
    listed = [c.credential_id for c in client.get_credentials()]
    assert cred_id in listed and card.credential_id in listed
    # AND another organization sees none of them
    other = _client(
        (served[0], alto("keys", "create", "--org", "vault-other", data_dir=served[0].data_dir).strip())
    )
    with pytest.raises(ApiError) as hidden:
        other.get_credential(cred_id)
    assert hidden.value.status_code == 404
    assert [c.credential_id for c in other.get_credentials()] == []
    # WHEN the login runs on a site that asks for the password, then an authenticator code
    accept = pyotp.TOTP(secret).verify
    with two_factor_site(username=username, password=password) as site:
        site.accept = lambda code: accept(code, valid_window=1)
        login = client.login(credential_type="skyvern", credential_id=cred_id, url=site.url("/login"))
        run = _wait(client, login.run_id, TERMINAL)
        # THEN it signs in with the saved values and a locally made code
        assert run.status == "completed", run.failure_reason
        assert site.logins == [(username, password)]
        assert len(site.attempts) == 1 and accept(site.attempts[0], valid_window=1)
        typed_code = site.attempts[0]
    answers = [
        client.get_run(login.run_id).json(),
        json.dumps([e.dict() for e in client.get_run_timeline(login.run_id)], default=str),
        json.dumps([a.dict() for a in client.get_run_artifacts(login.run_id)], default=str),
        json.dumps([c.dict() for c in client.get_credentials()]),
        got.json(),
    ]
    # AND no secret is anywhere a person or the model could read it
    runtime = build_local(Settings(data_dir=served[0].data_dir))
    try:
        events = json.dumps([e.model_dump(mode="json") for e in runtime.event_log.read(login.run_id)])
        stored = [
            runtime.artifacts.get(a.uri).decode(errors="replace")
            for a in runtime.event_log.list_artifacts(login.run_id)
        ]
    finally:
        runtime.close()
    texts = {
        "model requests": "\n".join(model.requests_text()),
        "events": events,
        "artifacts": "\n".join(stored),
        "answers": "\n".join(answers),
        "logs": "".join(served[0].lines),
        "files": "\n".join(
            p.read_bytes().decode("latin-1") for p in served[0].data_dir.rglob("*") if p.is_file()
        ),
    }
    assert "{{secret:" + cred_id + ".password}}" in texts["model requests"]
    for where, text in texts.items():
        assert [v for v in (password, secret, card_number, typed_code) if v in text] == [], where
    # WHEN it is deleted, THEN it is gone
    client.delete_credential(cred_id)
    with pytest.raises(ApiError) as gone:
        client.get_credential(cred_id)
    assert gone.value.status_code == 404 and gone.value.body == {"detail": "Credential not found"}


# Compressed or encoded bytes (a zip as stored, images, video): no text shows in them as
# written, and a short value turns up in megabytes of them by chance (a 4-digit one about once
# in 4 GB of bytes per position), so only values of `_DENSE_MIN` characters or more are looked for.
_DENSE = (b"PK\x03\x04", b"\x89PNG", b"\xff\xd8\xff")
_DENSE_MIN = 6


@dataclass(frozen=True)
class Searched:
    where: str
    text: str
    dense: bool = False


def _texts(name: str, data: bytes) -> Iterator[Searched]:
    """`data` to search (bytes read one to one), and each member of a zip (a trace)."""
    dense = data.startswith(_DENSE) or data[4:8] == b"ftyp"  # ftyp: an MP4
    yield Searched(name, data.decode("latin-1"), dense)
    if zipfile.is_zipfile(io.BytesIO(data)):
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            for member in archive.namelist():
                yield from _texts(f"{name}!{member}", archive.read(member))


def _shown(value: str, searched: Searched) -> bool:
    """Whether the text holds `value` as written or URL-encoded (as a form posts it), as a
    token of its own: not inside a longer number, a decimal or a hash (a timestamp or a
    checksum that happens to hold a code's digits)."""
    if searched.dense and len(value) < _DENSE_MIN:
        return False
    forms = {value, quote(value, safe=""), quote_plus(value)}
    return any(
        re.search(rf"(?<![0-9A-Za-z+/])(?<![0-9]\.){re.escape(form)}(?![0-9A-Za-z]|\.[0-9])", searched.text)
        for form in forms
    )


def test_no_secret_a_run_used_is_anywhere_a_person_or_the_model_can_read(
    served: tuple[RunningServer, str], model: FakeAnthropicServer
) -> None:
    client = _client(served)
    server = served[0]
    password, seed = "Correct-Horse-7731", pyotp.random_base32()
    # A CVV with a leading zero: no JSON number (a size, a coordinate) is ever written so.
    card_number, cvv = "4929131926384807", "0583"
    pushed, emailed, pulled = "58302917", "71946385", "60428153"
    answers: list[Searched] = []
    runs: dict[str, str] = {}
    # GIVEN a password with an authenticator secret, and a card, saved
    login_cred = client.create_credential(
        name="Grep login",
        credential_type="password",
        credential=NonEmptyPasswordCredential(
            username="grep.user", password=password, totp=seed, totp_type="authenticator"
        ),
    )
    card_cred = client.create_credential(
        name="Grep card",
        credential_type="credit_card",
        credential=NonEmptyCreditCardCredential(
            card_number=card_number,
            card_cvv=cvv,
            card_exp_month="11",
            card_exp_year="2031",
            card_brand="visa",
            card_holder_name="Grep User",
        ),
    )
    answers += [Searched("credential", login_cred.json()), Searched("card", card_cred.json())]
    # WHEN a login signs in with the password and a code made from the authenticator secret
    accept = pyotp.TOTP(seed).verify
    with two_factor_site(username="grep.user", password=password) as site:
        site.accept = lambda code: accept(code, valid_window=1)
        login = client.login(
            credential_type="skyvern", credential_id=login_cred.credential_id, url=site.url("/login")
        )
        runs["login"] = str(login.run_id)
        assert _wait(client, runs["login"], TERMINAL).status == "completed"
        assert site.logins == [("grep.user", password)] and len(site.attempts) == 1
        made = site.attempts[0]
    # AND a run types a bare code pushed with the SDK
    with two_factor_site(expected=pushed) as site:
        runs["pushed"] = _start(client, site, "/2fa")
        client.send_totp_code(totp_identifier=IDENTIFIER, content=pushed, task_id=runs["pushed"])
        assert _wait(client, runs["pushed"], TERMINAL).status == "completed"
        assert site.attempts == [pushed]
    # AND a run types the code of a pushed email body
    with two_factor_site(expected=emailed) as site:
        runs["emailed"] = _start(client, site, "/2fa")
        client.send_totp_code(
            totp_identifier=IDENTIFIER,
            content=f"Hello,\n\nYour verification code is {emailed}. It expires in 10 minutes.\n",
            source="email",
            task_id=runs["emailed"],
        )
        assert _wait(client, runs["emailed"], TERMINAL).status == "completed"
        assert site.attempts == [emailed]
    # AND a run types the code its totp_url answers
    receiver = WebhookReceiver(body_script=lambda n: _code_body(pulled))
    with running(receiver), two_factor_site(expected=pulled) as site:
        runs["pulled"] = _start(client, site, "/2fa", totp_url=receiver.url)
        assert _wait(client, runs["pulled"], TERMINAL).status == "completed"
        assert site.attempts == [pulled]
    # AND a checkout types the saved card's number and CVV through their placeholders
    card = card_cred.credential_id
    with two_factor_site(card_number=card_number, card_cvv=cvv) as site:
        checkout = client.run_task(
            prompt=(
                "Pay for the order with the saved card: card number {{secret:" + card + ".card_number}}, "
                "CVV {{secret:" + card + ".card_cvv}}."
            ),
            url=site.url("/checkout"),
            engine="skyvern-1.0",
        )
        runs["checkout"] = str(checkout.run_id)
        assert _wait(client, runs["checkout"], TERMINAL).status == "completed"
        assert site.payments == [(card_number, cvv)]
    secrets = {
        "password": password,
        "authenticator secret": seed,
        "authenticator code": made,
        "pushed code": pushed,
        "emailed code": emailed,
        "pulled code": pulled,
        "card number": card_number,
        "CVV": cvv,
    }
    # THEN none of them is in what the API answers about the runs, the artifacts it serves included
    answers.append(Searched("credentials", json.dumps([c.dict() for c in client.get_credentials()])))
    runtime = build_local(Settings(data_dir=server.data_dir))
    try:
        for run_id in runs.values():
            run = client.get_run(run_id)
            artifacts = client.get_run_artifacts(run_id)
            answers += [
                Searched(f"run {run_id}", run.json()),
                Searched(
                    f"timeline {run_id}",
                    json.dumps([e.dict() for e in client.get_run_timeline(run_id)], default=str),
                ),
                Searched(f"artifacts {run_id}", json.dumps([a.dict() for a in artifacts], default=str)),
            ]
            # (every link in them answers, keyless, the bytes the artifact store holds)
            records = runtime.event_log.list_artifacts(run_id)
            assert sorted(a.artifact_id for a in artifacts) == sorted(r.artifact_id for r in records)
            fetched = assert_links_answer_stored_bytes(
                [run.dict(), *(a.dict() for a in artifacts)],
                fetch=http_fetch,
                uris={r.artifact_id: r.uri for r in records},
                read=runtime.artifacts.get,
            )
            served = {f.artifact_id: f for f in fetched}  # (each artifact's bytes, searched once)
            assert set(served) == {r.artifact_id for r in records}
            for f in served.values():
                answers += _texts(f"{run_id}/{f.artifact_id} ({f.where})", f.data)
        # (nor in the events and artifacts as stored, read without the API)
        events = [
            Searched(r, json.dumps([e.model_dump(mode="json") for e in runtime.event_log.read(r)]))
            for r in runs.values()
        ]
        stored = {
            f"{r}/{a.artifact_id} ({a.artifact_type})": runtime.artifacts.get(a.uri)
            for r in runs.values()
            for a in runtime.event_log.list_artifacts(r)
        }
    finally:
        runtime.close()
    traces = [name for name in stored if "trace" in name]
    assert len(traces) >= len(runs), sorted(stored)
    logged = "".join(server.lines)
    places: dict[str, list[Searched]] = {
        "model requests": [Searched(str(n), text) for n, text in enumerate(model.requests_text())],
        "events": events,
        "artifacts": [part for name, data in stored.items() for part in _texts(name, data)],
        "answers": answers,
        "logs": [Searched("serve output", logged)],
        "files": [
            part
            for path in server.data_dir.rglob("*")
            if path.is_file()
            for part in _texts(str(path.relative_to(server.data_dir)), path.read_bytes())
        ],
    }
    # (the searches read real content: the placeholders, every run in debug lines, the traces)
    assert "{{secret:" + card + ".card_number}}" in "\n".join(p.text for p in places["model requests"])
    records = [json.loads(line) for line in logged.splitlines() if line.startswith("{")]
    debug = {
        kind: [r["message"] for r in records if r.get("level") == "DEBUG" and r.get("run_id") == run_id]
        for kind, run_id in runs.items()
    }
    assert [kind for kind, lines in debug.items() if not any(" plans " in line for line in lines)] == []
    assert f"run {runs['login']} opened credential {login_cred.credential_id} (password)" in debug["login"]
    assert f"run {runs['login']}: a code made from its saved authenticator secret" in debug["login"]
    assert any(line.startswith(f"run {runs['pushed']} took pushed code ") for line in debug["pushed"])
    assert any(line.startswith(f"run {runs['emailed']} took pushed code ") for line in debug["emailed"])
    assert f"run {runs['pulled']}: a code from its totp_url after 1 look" in debug["pulled"]
    assert f"run {runs['checkout']} opened credential {card} (credit_card)" in debug["checkout"]
    trace_text = "\n".join(p.text for p in places["artifacts"] if "(trace)!" in p.where)
    assert "{{secret:" + vc.CODE_SECRET + "}}" in trace_text
    leaks = [
        (where, searched.where, secret)
        for where, parts in places.items()
        for searched in parts
        for secret, value in secrets.items()
        if _shown(value, searched)
    ]
    assert leaks == []


@pytest.fixture(scope="module")
def served_waiting(
    tmp_path_factory: pytest.TempPathFactory, model: FakeAnthropicServer
) -> Iterator[tuple[RunningServer, str]]:
    """An embedded server whose slices last three seconds and whose runs wait for their codes
    between slices (off by default there)."""
    data_dir: Path = tmp_path_factory.mktemp("alto-totp-waiting")
    key = alto("keys", "create", "--org", "totp", data_dir=data_dir).strip()
    env = {
        **os.environ,
        "ANTHROPIC_API_KEY": model.api_key,
        "ALTO_ANTHROPIC_BASE_URL": model.base_url,
        "ALTO_TOTP_POLL_SECONDS": "0.2",
        "ALTO_TOTP_TIMEOUT_SECONDS": "90",
        "ALTO_TOTP_WAIT_BETWEEN_SLICES": "true",
        "ALTO_SLICE_SECONDS": "3",
        "ALTO_STEP_RESERVE_SECONDS": "1",
    }
    with alto_serve(data_dir, env=env) as server:
        yield server, key


def test_a_code_wait_longer_than_a_slice_ends_the_slice_and_the_code_is_typed_by_a_later_one(
    served_waiting: tuple[RunningServer, str],
) -> None:
    client = _client(served_waiting)
    code = "915307"
    with two_factor_site(expected=code) as site:
        # GIVEN a run whose code has not come
        run_id = _start(client, site, "/2fa")
        # WHEN its first step, which asked for the code, has ended without it (a slice waiting
        # inline would still be in that step), and slices have gone by since
        deadline = time.monotonic() + 60
        while not (steps := [e for e in client.get_run_timeline(run_id) if e.type == "block"]) or (
            steps[0].block.status != "completed"
        ):
            assert time.monotonic() < deadline, steps
            assert client.get_run(run_id).status == "running"
            time.sleep(0.1)
        time.sleep(6.5)  # longer than two slices
        assert site.attempts == []
        # AND the code is pushed with the SDK
        client.send_totp_code(totp_identifier=IDENTIFIER, content=f"Your verification code is {code}.")
        run = _wait(client, run_id, TERMINAL)
        # THEN a later slice typed it, and the run completed
        assert run.status == "completed", run.failure_reason
        assert site.attempts == [code]
    # AND the code is in none of the server's files (its checkpoints carry it sealed)
    files = [p.read_bytes().decode("latin-1") for p in served_waiting[0].data_dir.rglob("*") if p.is_file()]
    assert [text for text in files if code in text] == []


# -- a login published as a workflow, replayed as code ------------------------------------------


def _published_login(
    client: SkyvernClient, site: TwoFactorSite, cred_id: str, *, pushed: str | None = None, **options: Any
) -> tuple[str, str]:
    """A completed skyvern-2.0 run with the login goal and publish_workflow: its id and its
    workflow's wpid.
    (The login endpoint runs skyvern-1.0, which does not publish: the same goal, as a task.)
    `pushed`: the message pushed for the run's totp_identifier once it runs."""
    submitted = client.run_task(
        prompt=login_goal(cred_id),
        url=site.url("/login"),
        engine="skyvern-2.0",
        publish_workflow=True,
        **options,
    )
    if pushed is not None:
        _wait(client, submitted.run_id, {"running", *TERMINAL})
        client.send_totp_code(totp_identifier=options["totp_identifier"], content=pushed)
    run = _wait(client, submitted.run_id, TERMINAL)
    assert run.status == "completed", run.failure_reason
    wpid = run.model_extra["workflow_permanent_id"]  # type: ignore[index]
    assert client.get_workflow(wpid).run_with == "code"
    return submitted.run_id, str(wpid)


def _shown_anywhere(
    served: tuple[RunningServer, str], client: SkyvernClient, run_ids: list[str]
) -> dict[str, list[Searched]]:
    """Everything a person could read about these runs: their events and artifacts (a trace's
    members too), the API's answers, the server's logs and every file it wrote."""
    answers = [
        Searched(f"{what} {run_id}", text)
        for run_id in run_ids
        for what, text in (
            ("run", client.get_run(run_id).json()),
            ("timeline", json.dumps([e.dict() for e in client.get_run_timeline(run_id)], default=str)),
            ("artifacts", json.dumps([a.dict() for a in client.get_run_artifacts(run_id)], default=str)),
        )
    ]
    runtime = build_local(Settings(data_dir=served[0].data_dir))
    try:
        events = [
            Searched(r, json.dumps([e.model_dump(mode="json") for e in runtime.event_log.read(r)]))
            for r in run_ids
        ]
        stored = [
            part
            for r in run_ids
            for a in runtime.event_log.list_artifacts(r)
            for part in _texts(f"{r}/{a.artifact_id} ({a.artifact_type})", runtime.artifacts.get(a.uri))
        ]
    finally:
        runtime.close()
    data_dir = served[0].data_dir
    return {
        "events": events,
        "artifacts": stored,
        "answers": answers,
        "logs": [Searched("serve output", "".join(served[0].lines))],
        "files": [
            part
            for path in data_dir.rglob("*")
            if path.is_file()
            for part in _texts(str(path.relative_to(data_dir)), path.read_bytes())
        ],
    }


def _found(places: dict[str, list[Searched]], *values: str) -> list[tuple[str, str]]:
    """Where any of `values` shows: (kind of place, the place)."""
    return [
        (kind, part.where)
        for kind, parts in places.items()
        for part in parts
        if any(_shown(v, part) for v in values)
    ]


def test_a_published_login_replays_as_code_typing_the_password_and_a_fresh_authenticator_code(
    served: tuple[RunningServer, str], model: FakeAnthropicServer
) -> None:
    client = _client(served)
    username, password, secret = "ada.replay", "Replay-Secret-Password-7", pyotp.random_base32()
    cred_id = client.create_credential(
        name="Replayed login",
        credential_type="password",
        credential=NonEmptyPasswordCredential(
            username=username, password=password, totp=secret, totp_type="authenticator"
        ),
    ).credential_id
    accept = pyotp.TOTP(secret).verify
    with two_factor_site(username=username, password=password) as site:
        site.accept = lambda code: accept(code, valid_window=1)
        # GIVEN a login, with the password and an authenticator code, published as a workflow
        _, wpid = _published_login(client, site, cred_id)
        assert site.logins == [(username, password)] and len(site.attempts) == 1
        # WHEN the workflow runs as code, with no fallback to the agent
        calls = len(model.exchanges)
        started = client.run_workflow(agent_id=wpid, run_with="code", ai_fallback=False)
        replayed = _wait(client, started.run_id, TERMINAL)
        # THEN it signs in again with the saved password and a code made at replay time, which
        # the site checks, without a single model request
        assert replayed.status == "completed", replayed.failure_reason
        assert replayed.script_run is not None and replayed.script_run.ai_fallback_triggered is False
        assert len(model.exchanges) == calls
        assert site.logins == [(username, password)] * 2
        assert len(site.attempts) == 2 and accept(site.attempts[1], valid_window=1)
        codes = list(site.attempts)
    actions = [
        a
        for entry in client.get_run_timeline(started.run_id)
        if entry.block
        for a in entry.block.actions or []
    ]
    assert actions and {a.created_by for a in actions} == {"script"}
    # AND no secret is anywhere a person could read it: the password, the seed, either code
    shown = _shown_anywhere(served, client, [started.run_id])
    assert "{{secret:" + cred_id + ".password}}" in "\n".join(p.text for p in shown["events"])
    assert any("trace" in p.where for p in shown["artifacts"]), [p.where for p in shown["artifacts"]]
    assert _found(shown, password, secret, *codes) == []


def test_a_published_login_with_pushed_codes_replays_waiting_for_a_new_pushed_code(
    served: tuple[RunningServer, str], model: FakeAnthropicServer
) -> None:
    client = _client(served)
    identifier = "replay.pushed@example.com"
    username, password = "grace.replay", "Pushed-Replay-Password-3"
    cred_id = client.create_credential(
        name="Replayed login with emailed codes",
        credential_type="password",
        credential=NonEmptyPasswordCredential(username=username, password=password),
    ).credential_id
    first_code, replay_code = "531864", "907215"
    with two_factor_site(expected=first_code, username=username, password=password) as site:
        # GIVEN a login whose code was pushed for its totp_identifier, published as a workflow
        source_id, wpid = _published_login(
            client, site, cred_id, totp_identifier=identifier, pushed=f"Your code is {first_code}."
        )
        assert site.attempts == [first_code]
        # AND the workflow keeps the identifier its codes are pushed for
        assert client.get_workflow(wpid).totp_identifier == identifier
        # WHEN the workflow runs as code (for that identifier), and only once it has signed in
        # is the new code pushed, scoped to that workflow run
        site.expected = replay_code
        calls = len(model.exchanges)
        started = client.run_workflow(agent_id=wpid, run_with="code", ai_fallback=False)
        _wait(client, started.run_id, {"running", *TERMINAL})
        deadline = time.monotonic() + 60
        while site.logins != [(username, password)] * 2:
            assert time.monotonic() < deadline and client.get_run(started.run_id).status == "running"
            time.sleep(0.1)
        client.send_totp_code(
            totp_identifier=identifier,
            content=f"Your verification code is {replay_code}.",
            workflow_run_id=started.run_id,
        )
        replayed = _wait(client, started.run_id, TERMINAL)
        # THEN the replay waited for it and typed it, with no model request
        assert replayed.status == "completed", replayed.failure_reason
        assert site.attempts == [first_code, replay_code]
        assert len(model.exchanges) == calls
    # AND neither code nor the password is anywhere a person could read it
    shown = _shown_anywhere(served, client, [source_id, started.run_id])
    assert _found(shown, password, first_code, replay_code) == []


def test_a_replayed_login_that_cannot_get_a_code_fails_saying_why(
    served: tuple[RunningServer, str], model: FakeAnthropicServer
) -> None:
    client = _client(served)
    identifier = "replay.nocode@example.com"
    username, password = "alan.replay", "No-Code-Replay-Password-5"
    cred_id = client.create_credential(
        name="Replayed login without a code",
        credential_type="password",
        credential=NonEmptyPasswordCredential(username=username, password=password),
    ).credential_id
    with two_factor_site(expected="246813", username=username, password=password) as site:
        _, wpid = _published_login(client, site, cred_id, totp_identifier=identifier, pushed="246813")
        calls = len(model.exchanges)
        # WHEN it replays as code and no code is pushed
        waited = _wait(
            client, client.run_workflow(agent_id=wpid, run_with="code", ai_fallback=False).run_id, TERMINAL
        )
        # THEN it signs in, then fails at the code's step when the wait ends, saying why, with
        # no model request
        assert waited.status == "failed"
        reason = waited.failure_reason or ""
        assert reason.startswith("The script's step 4 (Type a fresh verification code")
        assert f"No verification code was pushed for the run's totp_identifier within {TIMEOUT_S}" in reason
        assert site.logins == [(username, password)] * 2 and site.attempts == ["246813"]
        assert len(model.exchanges) == calls
        # WHEN the credential is deleted, THEN the replay stops at its first step, naming it
        client.delete_credential(cred_id)
        gone = _wait(
            client, client.run_workflow(agent_id=wpid, run_with="code", ai_fallback=False).run_id, TERMINAL
        )
        assert gone.status == "failed"
        assert gone.failure_reason == (
            'The script\'s step 1 (Fill textbox "Username"): the run has no secret '
            f"'{cred_id}.username' (a deleted credential, or one of another organization)"
        )
        assert site.logins == [(username, password)] * 2 and len(model.exchanges) == calls


def test_a_replayed_login_whose_code_does_not_come_hands_over_to_the_agent(
    served: tuple[RunningServer, str], model: FakeAnthropicServer
) -> None:
    client = _client(served)
    identifier = "replay.handover@example.com"
    username, password = "mary.replay", "Handover-Replay-Password-4"
    cred_id = client.create_credential(
        name="Replayed login handed over",
        credential_type="password",
        credential=NonEmptyPasswordCredential(username=username, password=password),
    ).credential_id
    first_code, agent_code = "370519", "825043"
    with two_factor_site(expected=first_code, username=username, password=password) as site:
        _, wpid = _published_login(client, site, cred_id, totp_identifier=identifier, pushed=first_code)
        # WHEN it replays as code (ai_fallback, the default) and no code comes while it waits
        site.expected = agent_code
        calls = len(model.exchanges)
        started = client.run_workflow(agent_id=wpid, run_with="code")
        deadline = time.monotonic() + 60
        while not (
            (now := client.get_run(started.run_id)).script_run and now.script_run.ai_fallback_triggered
        ):
            assert time.monotonic() < deadline and now.status not in TERMINAL, now.failure_reason
            time.sleep(0.1)
        # THEN the agent takes over on the 2FA page, the password typed by the replay, and
        # types the code pushed while it asks
        assert site.logins == [(username, password)] * 2 and site.attempts == [first_code]
        client.send_totp_code(totp_identifier=identifier, content=agent_code, workflow_run_id=started.run_id)
        healed = _wait(client, started.run_id, TERMINAL)
        assert healed.status == "completed", healed.failure_reason
        assert site.attempts == [first_code, agent_code]
        assert len(model.exchanges) > calls
    # AND the timeline says why the replay stopped, and no secret is anywhere
    shown = _shown_anywhere(served, client, [started.run_id])
    answers = "\n".join(p.text for p in shown["answers"])
    assert "No verification code was pushed for the run's totp_identifier" in answers
    assert _found(shown, password, first_code, agent_code) == []
