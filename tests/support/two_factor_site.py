"""A site whose sign-in ends on a 2FA page, and whose server checks the code it expects.

`/2fa` asks for the code in one box, `/2fa?boxes=6` in one box per digit (`&advance=1`: typing
a digit moves the focus to the next box, as many sites do); the form is POSTed
to `/2fa/verify`, which answers "Verified" only for the expected code. Every code submitted is
kept in `attempts`, in order. `/login` asks for a username and password, POSTed to
`/login/submit`, which goes on to the 2FA page only for the expected pair (every pair tried is
kept in `logins`; `redirect_login`: by a redirect to `/2fa`). `/checkout` asks for a card number
and its CVV (plain text boxes, as card forms have them), POSTed to `/checkout/pay`, which
answers "Payment accepted" only for the expected card (every pair tried is kept in `payments`).
The code boxes and their button carry `data-cua` names, so computer-use scripts can measure
where they are.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

_PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{title}</title></head>
<body><main><h1>{title}</h1>{body}</main></body></html>"""


# Each digit typed moves the focus on, so a code typed into the first box fills them all.
_ADVANCE = """<script>
document.querySelectorAll('input[maxlength="1"]').forEach((box, n, all) =>
  box.addEventListener('input', () => { if (box.value && all[n + 1]) all[n + 1].focus(); }));
</script>"""


def _form(boxes: int, advance: bool = False) -> str:
    if boxes <= 1:
        inputs = (
            '<label>Verification code <input name="code" inputmode="numeric"'
            ' autocomplete="one-time-code" data-cua="code"></label>'
        )
    else:
        inputs = "".join(
            f'<input name="d{n}" aria-label="Digit {n + 1}" maxlength="1" inputmode="numeric" size="1"'
            f' data-cua="d{n}">'
            for n in range(boxes)
        )
    return (
        "<p>We sent a verification code to your email. Enter it to continue.</p>"
        f'<form action="/2fa/verify" method="post">{inputs}'
        '<button type="submit" data-cua="verify">Verify</button></form>' + (_ADVANCE if advance else "")
    )


_LOGIN_FORM = (
    '<form action="/login/submit" method="post">'
    '<label>Username <input name="username" autocomplete="username"></label>'
    '<label>Password <input name="password" type="password" autocomplete="current-password"></label>'
    '<button type="submit">Sign in</button></form>'
)

_CHECKOUT_FORM = (
    "<p>Order total: $42.00</p>"
    '<form action="/checkout/pay" method="post">'
    '<label>Card number <input name="card_number" inputmode="numeric" autocomplete="cc-number"></label>'
    '<label>CVV <input name="cvv" inputmode="numeric" autocomplete="cc-csc"></label>'
    '<button type="submit">Pay</button></form>'
)


@dataclass
class TwoFactorSite:
    expected: str = "000000"
    attempts: list[str] = field(default_factory=list)
    username: str = "john"
    password: str = "secret"
    logins: list[tuple[str, str]] = field(default_factory=list)
    card_number: str = "4111111111111111"
    card_cvv: str = "737"
    payments: list[tuple[str, str]] = field(default_factory=list)
    # Decides whether a code is right (an authenticator's codes change); None: `expected` only.
    accept: Callable[[str], bool] | None = None
    # A right sign-in redirects to `/2fa` (the 2FA page has an address of its own, as most sites
    # give it) instead of answering with the 2FA form itself.
    redirect_login: bool = False
    _server: ThreadingHTTPServer | None = None

    @property
    def base_url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def url(self, path: str) -> str:
        return self.base_url + path


def _handler(site: TwoFactorSite) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            return

        def _send(self, status: int, title: str, body: str) -> None:
            data = _PAGE.format(title=title, body=body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            if parts.path == "/login":
                self._send(200, "Sign in", _LOGIN_FORM)
                return
            if parts.path == "/checkout":
                self._send(200, "Checkout", _CHECKOUT_FORM)
                return
            if parts.path != "/2fa":
                self._send(404, "Not found", "<p>Not found</p>")
                return
            query = parse_qs(parts.query)
            boxes = int(query.get("boxes", ["1"])[0])
            self._send(200, "Two-step verification", _form(boxes, advance=query.get("advance") == ["1"]))

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            form = parse_qs(self.rfile.read(length).decode())
            if urlsplit(self.path).path == "/login/submit":
                pair = (form.get("username", [""])[0], form.get("password", [""])[0])
                site.logins.append(pair)
                if pair == (site.username, site.password) and site.redirect_login:
                    self.send_response(303)
                    self.send_header("Location", "/2fa")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                elif pair == (site.username, site.password):
                    self._send(200, "Two-step verification", _form(1))
                else:
                    self._send(200, "Sign in", "<p>Wrong password.</p>" + _LOGIN_FORM)
                return
            if urlsplit(self.path).path == "/checkout/pay":
                paid = (form.get("card_number", [""])[0], form.get("cvv", [""])[0])
                site.payments.append(paid)
                if paid == (site.card_number, site.card_cvv):
                    self._send(200, "Order placed", "<p>Payment accepted. Thank you for your order.</p>")
                else:
                    self._send(200, "Checkout", "<p>Card declined.</p>" + _CHECKOUT_FORM)
                return
            if "code" in form:
                code = form["code"][0]
            else:
                code = "".join(form[k][0] for k in sorted(form) if k.startswith("d"))
            site.attempts.append(code)
            if site.accept(code) if site.accept is not None else code == site.expected:
                self._send(200, "Account", "<p>Verified. Welcome to your account, John.</p>")
            else:
                self._send(200, "Two-step verification", "<p>Wrong code. Try again.</p>" + _form(1))

    return Handler


@contextmanager
def two_factor_site(
    expected: str = "000000",
    *,
    username: str = "john",
    password: str = "secret",
    card_number: str = "4111111111111111",
    card_cvv: str = "737",
) -> Iterator[TwoFactorSite]:
    site = TwoFactorSite(
        expected=expected, username=username, password=password, card_number=card_number, card_cvv=card_cvv
    )
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(site))
    server.daemon_threads = True
    site._server = server
    threading.Thread(target=server.serve_forever, name="two-factor-site", daemon=True).start()
    try:
        yield site
    finally:
        server.shutdown()
        server.server_close()
