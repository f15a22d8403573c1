"""Browser sessions in Amazon Bedrock AgentCore Browser: a managed live Chromium per session.

`start` starts an AgentCore browser session named after ours (`pbs_…`); each slice reaches it
through its automation stream, a CDP WebSocket whose handshake carries SigV4 headers signed
just then (a signature is good for minutes, a session for hours, so nothing signed is kept);
the runs work in its default context, so tabs, pages and cookies stay from one run to the
next; `stop` stops it. Nothing but AgentCore holds the mapping from our id to its session:
a process that did not start the session (another Lambda, a restarted server) finds it by
name among the browser's READY sessions.

AgentCore fixes a session's lifetime when it starts and cannot extend it, so sessions start
with the longest lifetime ours can reach (extensions included); our own deadline stops them
earlier.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from botocore.auth import SigV4Auth, SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.exceptions import BotoCoreError, ClientError

from altostratus.ports.session_browsers import CdpEndpoint, SessionBrowserError

log = logging.getLogger(__name__)

SERVICE = "bedrock-agentcore"
DEFAULT_BROWSER = "aws.browser.v1"
# The longest a session of ours can live (360 minutes, extensions included).
DEFAULT_SESSION_TIMEOUT_SECONDS = 6 * 3600
# AgentCore accepts presigned live-view URLs valid for at most five minutes.
LIVE_VIEW_SECONDS = 300
_LIST_PAGE = 100


@dataclass(frozen=True)
class _Remote:
    browser_identifier: str
    session_id: str


class AgentCoreSessions:
    """`SessionBrowsers` over AgentCore Browser, through a boto3 `bedrock-agentcore` client.

    `credentials` gives the credentials to sign the automation stream and live-view URLs with
    (the client's own: `boto3.Session.get_credentials`), asked for at each signature so that
    rotated role credentials are picked up."""

    name = "agentcore"
    live = True

    def __init__(
        self,
        client: Any,
        *,
        credentials: Callable[[], Any],
        region: str,
        browser_identifier: str = DEFAULT_BROWSER,
        session_timeout_seconds: int = DEFAULT_SESSION_TIMEOUT_SECONDS,
        viewport: tuple[int, int] | None = None,
    ) -> None:
        self._client = client
        self._credentials = credentials
        self._region = region
        self._browser = browser_identifier
        self._timeout = session_timeout_seconds
        self._viewport = viewport
        # The sessions this process started or found, by our id.
        self._known: dict[str, _Remote] = {}
        self._lock = threading.Lock()

    def start(self, session_id: str) -> None:
        request: dict[str, Any] = {
            "browserIdentifier": self._browser,
            "name": session_id,
            "sessionTimeoutSeconds": self._timeout,
            # The same token for the same session: a retried start gets the session started before.
            "clientToken": hashlib.sha256(f"alto-session:{session_id}".encode()).hexdigest(),
        }
        if self._viewport is not None:
            request["viewPort"] = {"width": self._viewport[0], "height": self._viewport[1]}
        try:
            answer = self._client.start_browser_session(**request)
        except (ClientError, BotoCoreError) as exc:
            raise SessionBrowserError(f"AgentCore did not start a browser session ({_why(exc)})") from exc
        remote = _Remote(answer["browserIdentifier"], answer["sessionId"])
        with self._lock:
            self._known[session_id] = remote
        log.info("session %s: AgentCore browser session %s started", session_id, remote.session_id)

    def endpoint(self, session_id: str) -> CdpEndpoint | None:
        """The automation stream of the session's AgentCore session with its SigV4 handshake
        headers, or None when it is not READY (stopped, timed out, never started)."""
        found = self._ready(session_id)
        if found is None:
            return None
        url = found["streams"]["automationStream"]["streamEndpoint"]
        return CdpEndpoint(url=url, headers=self._signed_headers(url))

    def live_view_url(self, session_id: str, expires: int = LIVE_VIEW_SECONDS) -> str | None:
        """A presigned URL of the session's live view (an AWS DCV stream), valid for `expires`
        seconds (at most five minutes); None when the session is not READY."""
        found = self._ready(session_id)
        if found is None:
            return None
        stream = (found["streams"].get("liveViewStream") or {}).get("streamEndpoint")
        if not stream:
            return None
        url = _https(stream)
        request = AWSRequest(method="GET", url=url, headers={"host": _host(url)})
        SigV4QueryAuth(
            self._frozen(), SERVICE, self._region, expires=min(expires, LIVE_VIEW_SECONDS)
        ).add_auth(request)
        return str(request.url)

    def saved_state(self, session_id: str) -> dict[str, Any] | None:
        """Nothing: the browser itself stays up between runs."""
        return None

    def save_state(self, session_id: str, run_id: str, state: dict[str, Any]) -> None:
        """Nothing to keep: the next run finds the browser as this one left it."""

    def stop(self, session_id: str) -> None:
        """Stop every READY AgentCore session of ours by that name (a retried start may have
        left more than one)."""
        with self._lock:
            remembered = self._known.pop(session_id, None)
        try:
            remotes = set(self._find(session_id))
        except SessionBrowserError:
            if remembered is None:
                raise
            remotes = set()
        if remembered is not None:
            remotes.add(remembered)
        for remote in remotes:
            try:
                self._client.stop_browser_session(
                    browserIdentifier=remote.browser_identifier, sessionId=remote.session_id
                )
            except ClientError as exc:
                if _code(exc) not in ("ResourceNotFoundException", "ConflictException"):
                    raise SessionBrowserError(
                        f"AgentCore did not stop the browser session ({_why(exc)})"
                    ) from exc
            except BotoCoreError as exc:
                raise SessionBrowserError(
                    f"AgentCore did not stop the browser session ({_why(exc)})"
                ) from exc
            log.info("session %s: AgentCore browser session %s stopped", session_id, remote.session_id)

    def close(self) -> None:
        """Stop the sessions this process started: like a server's own Chromium, they end with it."""
        with self._lock:
            ids = list(self._known)
        for session_id in ids:
            try:
                self.stop(session_id)
            except SessionBrowserError:
                log.warning("session %s: its AgentCore browser session could not be stopped", session_id)

    # -- inside -------------------------------------------------------------------------

    def _ready(self, session_id: str) -> dict[str, Any] | None:
        with self._lock:
            remote = self._known.get(session_id)
        candidates = [remote] if remote is not None else self._find(session_id)
        for candidate in candidates:
            try:
                found: dict[str, Any] = self._client.get_browser_session(
                    browserIdentifier=candidate.browser_identifier, sessionId=candidate.session_id
                )
            except ClientError as exc:
                if _code(exc) == "ResourceNotFoundException":
                    continue
                raise SessionBrowserError(
                    f"AgentCore did not answer for the browser session ({_why(exc)})"
                ) from exc
            except BotoCoreError as exc:
                raise SessionBrowserError(
                    f"AgentCore did not answer for the browser session ({_why(exc)})"
                ) from exc
            if found.get("status") == "READY":
                with self._lock:
                    self._known[session_id] = candidate
                return found
        with self._lock:
            self._known.pop(session_id, None)
        return None

    def _find(self, session_id: str) -> list[_Remote]:
        """The READY AgentCore sessions named `session_id`, newest first."""
        found: list[tuple[datetime, _Remote]] = []
        token: str | None = None
        try:
            while True:
                request: dict[str, Any] = {
                    "browserIdentifier": self._browser,
                    "status": "READY",
                    "maxResults": _LIST_PAGE,
                }
                if token:
                    request["nextToken"] = token
                page = self._client.list_browser_sessions(**request)
                for item in page.get("items", []):
                    if item.get("name") == session_id:
                        remote = _Remote(item["browserIdentifier"], item["sessionId"])
                        found.append((item.get("createdAt") or datetime.min.replace(tzinfo=UTC), remote))
                token = page.get("nextToken")
                if not token:
                    break
        except (ClientError, BotoCoreError) as exc:
            raise SessionBrowserError(f"AgentCore did not list the browser sessions ({_why(exc)})") from exc
        return [remote for _, remote in sorted(found, key=lambda pair: pair[0], reverse=True)]

    def _frozen(self) -> Any:
        credentials = self._credentials()
        if credentials is None:
            raise SessionBrowserError("no AWS credentials to sign the AgentCore browser connection")
        return credentials.get_frozen_credentials()

    def _signed_headers(self, stream_url: str) -> dict[str, str]:
        """The handshake headers AgentCore checks: a SigV4 signature of a GET on the https
        form of the stream's address, made now. The WebSocket client sends the same Host."""
        url = _https(stream_url)
        request = AWSRequest(method="GET", url=url, headers={"host": _host(url)})
        SigV4Auth(self._frozen(), SERVICE, self._region).add_auth(request)
        headers = {
            "X-Amz-Date": request.headers["X-Amz-Date"],
            "Authorization": request.headers["Authorization"],
        }
        token = request.headers.get("X-Amz-Security-Token")
        if token:
            headers["X-Amz-Security-Token"] = token
        return headers


def _https(url: str) -> str:
    scheme, rest = url.split("://", 1)
    return f"{'https' if scheme in ('wss', 'https') else 'http'}://{rest}"


def _host(url: str) -> str:
    return url.split("://", 1)[1].split("/", 1)[0]


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def _why(exc: Exception) -> str:
    """The service's error code, for a message a caller may read: AWS's own messages can name
    the account, roles and ARNs (they go to the log instead)."""
    log.warning("AgentCore call failed: %s", exc)
    if isinstance(exc, ClientError):
        return str(exc.response.get("Error", {}).get("Code") or "error")
    return type(exc).__name__
