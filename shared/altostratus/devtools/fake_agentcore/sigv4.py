"""Checking SigV4 the way AWS does, with botocore's own signer and fixed test credentials.

A request is re-signed from what arrived (its method, path, query, the headers it says it
signed, its body and its `X-Amz-Date`) and the signature compared with the one it carries, so
a wrong key, a changed path, a tampered header or an old date all fail. Both forms are checked:
the `Authorization` header (the REST calls and the automation stream's WebSocket handshake)
and the query string (the presigned live-view URL).
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qsl, urlencode

from botocore.auth import SigV4Auth, SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import ReadOnlyCredentials

SERVICE = "bedrock-agentcore"
ALGORITHM = "AWS4-HMAC-SHA256"
# How far a request's date may be from the fake's clock (AWS allows five minutes).
MAX_SKEW = timedelta(minutes=5)
_DATE_FORMAT = "%Y%m%dT%H%M%SZ"


@dataclass(frozen=True)
class FakeCredentials:
    """The one identity the fake accepts."""

    access_key: str = "AKIAFAKEAGENTCORE01"
    secret_key: str = "fake-agentcore-secret-key"
    token: str | None = "fake-agentcore-session-token"

    def frozen(self) -> ReadOnlyCredentials:
        return ReadOnlyCredentials(self.access_key, self.secret_key, self.token)


class SignatureError(Exception):
    """The request is not signed by the test credentials (its message says what is wrong)."""


@dataclass(frozen=True)
class Arrived:
    """A request as the server saw it; `headers` lower-cased, `path` and `query` as sent."""

    method: str
    scheme: str
    path: str
    query: str
    headers: dict[str, str]
    body: bytes = b""


class SigV4Verifier:
    def __init__(self, credentials: FakeCredentials, region: str) -> None:
        self.credentials = credentials
        self.region = region

    def verify_header(self, request: Arrived, now: datetime | None = None) -> None:
        """Raise SignatureError unless the `Authorization` header signs this request."""
        auth = request.headers.get("authorization", "")
        if not auth.startswith(ALGORITHM + " "):
            raise SignatureError("missing or not a SigV4 Authorization header")
        fields = {}
        for part in auth[len(ALGORITHM) + 1 :].split(","):
            name, _, value = part.strip().partition("=")
            fields[name] = value
        try:
            credential, signed, signature = fields["Credential"], fields["SignedHeaders"], fields["Signature"]
        except KeyError as exc:
            raise SignatureError(f"the Authorization header has no {exc.args[0]}") from None
        stamp = request.headers.get("x-amz-date", "")
        self._check_scope(credential, stamp, now)
        names = signed.split(";")
        if "host" not in names or "x-amz-date" not in names:
            raise SignatureError("host and x-amz-date must be signed")
        if self.credentials.token is not None:
            if request.headers.get("x-amz-security-token") != self.credentials.token:
                raise SignatureError("wrong or missing security token")
            if "x-amz-security-token" not in names:
                raise SignatureError("the security token must be signed")
        missing = [name for name in names if name not in request.headers]
        if missing:
            raise SignatureError(f"signed headers not sent: {', '.join(missing)}")
        aws = AWSRequest(
            method=request.method,
            url=self._url(request, request.query),
            headers={name: request.headers[name] for name in names},
            data=request.body,
        )
        aws.context["timestamp"] = stamp
        signer = SigV4Auth(self.credentials.frozen(), SERVICE, self.region)
        expected = signer.signature(signer.string_to_sign(aws, signer.canonical_request(aws)), aws)
        if signer.signed_headers(signer.headers_to_sign(aws)) != signed:
            raise SignatureError("the signed header list is not canonical")
        if not hmac.compare_digest(expected, signature):
            raise SignatureError("the signature does not match")

    def verify_query(self, request: Arrived, now: datetime | None = None) -> None:
        """Raise SignatureError unless the query string presigns this request (and is not expired)."""
        params = parse_qsl(request.query, keep_blank_values=True)
        given = dict(params)
        if given.get("X-Amz-Algorithm") != ALGORITHM:
            raise SignatureError("not a SigV4 presigned URL")
        try:
            credential, stamp = given["X-Amz-Credential"], given["X-Amz-Date"]
            expires, signed, signature = (
                int(given["X-Amz-Expires"]),
                given["X-Amz-SignedHeaders"],
                given["X-Amz-Signature"],
            )
        except (KeyError, ValueError) as exc:
            raise SignatureError(f"the presigned URL lacks {exc}") from None
        at = self._check_scope(credential, stamp, now, skew_after=False)
        if (now or datetime.now(UTC)) > at + timedelta(seconds=expires):
            raise SignatureError("the presigned URL has expired")
        if self.credentials.token is not None and given.get("X-Amz-Security-Token") != self.credentials.token:
            raise SignatureError("wrong or missing security token")
        names = signed.split(";")
        missing = [name for name in names if name not in request.headers]
        if missing:
            raise SignatureError(f"signed headers not sent: {', '.join(missing)}")
        unsigned = urlencode([(k, v) for k, v in params if k != "X-Amz-Signature"])
        aws = AWSRequest(
            method=request.method,
            url=self._url(request, unsigned),
            headers={name: request.headers[name] for name in names},
        )
        aws.context["timestamp"] = stamp
        signer = SigV4QueryAuth(self.credentials.frozen(), SERVICE, self.region, expires=expires)
        expected = signer.signature(signer.string_to_sign(aws, signer.canonical_request(aws)), aws)
        if not hmac.compare_digest(expected, signature):
            raise SignatureError("the signature does not match")

    def _check_scope(
        self, credential: str, stamp: str, now: datetime | None, *, skew_after: bool = True
    ) -> datetime:
        try:
            at = datetime.strptime(stamp, _DATE_FORMAT).replace(tzinfo=UTC)
        except ValueError:
            raise SignatureError("missing or malformed X-Amz-Date") from None
        now = now or datetime.now(UTC)
        if at - now > MAX_SKEW or (skew_after and now - at > MAX_SKEW):
            raise SignatureError("the request's date is too far from now")
        expected = f"{self.credentials.access_key}/{stamp[:8]}/{self.region}/{SERVICE}/aws4_request"
        if credential != expected:
            raise SignatureError("wrong access key, date, region or service in the credential scope")
        return at

    @staticmethod
    def _url(request: Arrived, query: str) -> str:
        # The host comes from the signed headers; the URL only carries the path and query.
        host = request.headers.get("host", "localhost")
        return f"{request.scheme}://{host}{request.path}" + (f"?{query}" if query else "")
