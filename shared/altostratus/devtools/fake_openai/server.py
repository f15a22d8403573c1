"""A fake OpenAI-compatible server on 127.0.0.1: `POST /v1/responses` and
`POST /v1/chat/completions`, validated as the real APIs are (`rules.py`), answered by a
scripted computer-use model (`cua_script`). Point the real `openai` SDK at `base_url`.

    server = FakeOpenAIServer(script, coordinates="doubao")
    server.fail_next(429, 500)          # the next requests fail with these statuses
    server.safety_check_at = 2          # turn 2's computer call carries a pending check
    server.exchanges                    # every request, status and answer
"""

from __future__ import annotations

import itertools
import json
import sys
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from altostratus.devtools import cua_script as cs
from altostratus.devtools.fake_openai.encode import computer_action, ui_tars_answer
from altostratus.devtools.fake_openai.rules import InvalidRequestError, check_chat, check_responses

KNOWN_MODELS = ("computer-use-preview", "gpt-5.4", "gpt-5.5", "ui-tars", "doubao")


@dataclass(frozen=True)
class Exchange:
    path: str
    body: Any
    status: int
    response: dict[str, Any]


def _error(
    status: int,
    message: str,
    *,
    kind: str = "invalid_request_error",
    param: str | None = None,
    code: str | None = None,
) -> tuple[int, dict[str, Any]]:
    return status, {"error": {"message": message, "type": kind, "param": param, "code": code}}


class FakeOpenAIServer:
    def __init__(
        self,
        script: cs.Script,
        *,
        api_key: str = "sk-fake-openai-key",
        coordinates: str = "doubao",
        image_limit: int = 5,
    ) -> None:
        self.script = script
        self.api_key = api_key
        self.coordinates = coordinates
        self.image_limit = image_limit
        self.safety_check_at: int | None = None
        self.exchanges: list[Exchange] = []
        self._store: dict[str, dict[str, Any]] = {}
        self._depth: dict[str, int] = {}
        self._failures: list[int] = []
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self._httpd: ThreadingHTTPServer | None = None

    def start(self) -> FakeOpenAIServer:
        self._httpd = _Quiet(("127.0.0.1", 0), _handler(self))
        self._httpd.daemon_threads = True
        threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        ).start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def __enter__(self) -> FakeOpenAIServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        assert self._httpd is not None
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}/v1"

    def fail_next(self, *statuses: int) -> None:
        with self._lock:
            self._failures.extend(statuses)

    def successful(self) -> list[Exchange]:
        return [e for e in self.exchanges if e.status == 200]

    def requests_text(self) -> str:
        return "\n".join(json.dumps(e.body) for e in self.exchanges)

    def _id(self, prefix: str) -> str:
        return f"{prefix}_fake{next(self._ids):06d}"

    def handle(self, path: str, raw: bytes, headers: dict[str, str]) -> tuple[int, dict[str, Any]]:
        try:
            body = json.loads(raw)
        except ValueError:
            return self._record(path, None, *_error(400, "We could not parse the JSON body of your request."))
        if headers.get("authorization", "") != f"Bearer {self.api_key}":
            return self._record(
                path, body, *_error(401, "Incorrect API key provided.", code="invalid_api_key")
            )
        with self._lock:
            failure = self._failures.pop(0) if self._failures else None
        if failure is not None:
            kind = "rate_limit_error" if failure == 429 else "server_error"
            return self._record(path, body, *_error(failure, "simulated error", kind=kind))
        if not any(str(body.get("model", "")).startswith(m) for m in KNOWN_MODELS):
            return self._record(
                path,
                body,
                *_error(
                    404,
                    f"The model `{body.get('model')}` does not exist or you do not have access to it.",
                    code="model_not_found",
                ),
            )
        try:
            if path == "/v1/responses":
                return self._record(path, body, 200, self._responses(body))
            if path == "/v1/chat/completions":
                return self._record(path, body, 200, self._chat(body))
        except InvalidRequestError as exc:
            return self._record(path, body, *_error(400, str(exc), param=exc.param))
        return self._record(path, body, *_error(404, f"Unknown route {path}"))

    def _responses(self, body: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            tool, _images = check_responses(body, self._store)
            previous = body.get("previous_response_id")
            turn = self._depth[previous] + 1 if previous else 0
        self.script.hear(body["input"])
        stale = self.script.stale(turn, cs.newest_png(body["input"]))
        if stale is not None:
            raise InvalidRequestError(stale, "input")
        intent = self.script.intent(turn)
        output: list[dict[str, Any]] = [
            {
                "type": "reasoning",
                "id": self._id("rs"),
                "summary": [{"type": "summary_text", "text": f"Turn {turn}."}],
            }
        ]
        action = computer_action(self.script, turn, intent)
        if action is not None:
            call: dict[str, Any] = {
                "type": "computer_call",
                "id": self._id("cu"),
                "call_id": self._id("call"),
                "status": "completed",
                "pending_safety_checks": [],
            }
            if tool["type"] == "computer":
                call["actions"] = [action]
            else:
                call["action"] = action
            if self.safety_check_at == turn:
                call["pending_safety_checks"] = [
                    {
                        "id": self._id("cu_sc"),
                        "code": "malicious_instructions",
                        "message": "The page contains instructions the user did not give.",
                    }
                ]
            output.append(call)
        else:
            text = (
                intent.answer
                if isinstance(intent, cs.Done)
                else (intent.question if isinstance(intent, cs.Ask) else getattr(intent, "reason", ""))
            )
            output.append(
                {
                    "type": "message",
                    "id": self._id("msg"),
                    "role": "assistant",
                    "status": "completed",
                    "content": [{"type": "output_text", "text": text, "annotations": []}],
                }
            )
        text_len = len(json.dumps(body))
        response = {
            "id": self._id("resp"),
            "object": "response",
            "created_at": int(time.time()),
            "status": "completed",
            "model": body["model"],
            "output": output,
            "parallel_tool_calls": True,
            "tool_choice": "auto",
            "tools": body["tools"],
            "truncation": body.get("truncation", "disabled"),
            "previous_response_id": body.get("previous_response_id"),
            "usage": {
                "input_tokens": text_len // 40,
                "input_tokens_details": {"cached_tokens": 0},
                "output_tokens": 40,
                "output_tokens_details": {"reasoning_tokens": 0},
                "total_tokens": text_len // 40 + 40,
            },
        }
        with self._lock:
            self._store[response["id"]] = response
            self._depth[response["id"]] = turn
        return response

    def _chat(self, body: dict[str, Any]) -> dict[str, Any]:
        images = check_chat(body, self.image_limit)
        turn = sum(1 for m in body["messages"] if m.get("role") == "assistant")
        self.script.hear(body["messages"])
        stale = self.script.stale(turn, images[-1] if images else None)
        if stale is not None:
            raise InvalidRequestError(stale, "messages")
        size = cs.png_size(images[-1]) if images else None
        width, height = size or (1280, 720)
        content = ui_tars_answer(self.script, turn, width, height, self.coordinates)
        return {
            "id": self._id("chatcmpl"),
            "object": "chat.completion",
            "created": int(time.time()),
            "model": body["model"],
            "choices": [
                {"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}
            ],
            "usage": {
                "prompt_tokens": len(json.dumps(body)) // 40,
                "completion_tokens": 30,
                "total_tokens": len(json.dumps(body)) // 40 + 30,
            },
        }

    def _record(
        self, path: str, body: Any, status: int, response: dict[str, Any]
    ) -> tuple[int, dict[str, Any]]:
        with self._lock:
            self.exchanges.append(Exchange(path=path, body=body, status=status, response=response))
        return status, response


class _Quiet(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


def _handler(server: FakeOpenAIServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True

        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("content-length") or 0))
            headers = {k.lower(): v for k, v in self.headers.items()}
            status, body = server.handle(self.path.split("?")[0], raw, headers)
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(data)))
            if status == 429:
                self.send_header("retry-after", "0")
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler
