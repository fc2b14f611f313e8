"""A fake OpenAI-compatible chat completions server on 127.0.0.1 (standard library only).

It serves ``POST /v1/chat/completions``, checks the bearer key when one is required, records
every request and answers from a per-test script of ``Reply`` values (see ``fake_gemini``);
once the script runs out it answers with option 1.
"""

from __future__ import annotations

import json
import threading
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from fake_gemini import Reply, SeenRequest

MODEL = "local-test-model"


def chat_reply(content: str | None, *, finish: str = "stop") -> Reply:
    """A 200 whose first choice's message holds ``content``."""
    body = {
        "id": "chatcmpl-fake",
        "object": "chat.completion",
        "model": MODEL,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content},
                "finish_reason": finish,
            }
        ],
        "usage": {"prompt_tokens": 210, "completion_tokens": 19, "total_tokens": 229},
    }
    return Reply(200, body)


def chat_success(answer: dict[str, Any] | None = None) -> Reply:
    answer = answer if answer is not None else {"option": 1, "reasoning": "Slow and sure."}
    return chat_reply(json.dumps(answer))


def chat_error(code: int, message: str = "", headers: dict[str, str] | None = None) -> Reply:
    body = {"error": {"message": message or f"fake error {code}", "type": "server_error"}}
    return Reply(code, body, headers=headers or {})


class FakeOpenAI:
    """A threaded HTTP server that plays a script of chat completion replies."""

    def __init__(self, *, api_key: str | None = None) -> None:
        self.api_key = api_key
        self.requests: list[SeenRequest] = []
        self._script: deque[Reply] = deque()
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    def __enter__(self) -> FakeOpenAI:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                fake._handle(self)

            def log_message(self, format: str, *args: Any) -> None:
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        assert self._server is not None and self._thread is not None
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    @property
    def url(self) -> str:
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/v1"

    @property
    def count(self) -> int:
        with self._lock:
            return len(self.requests)

    def script(self, *replies: Reply) -> None:
        with self._lock:
            self._script.extend(replies)

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        body = handler.rfile.read(int(handler.headers.get("content-length") or 0))
        seen = SeenRequest(handler.path, {k.lower(): v for k, v in handler.headers.items()}, body)
        with self._lock:
            self.requests.append(seen)
            scripted = self._script.popleft() if self._script else chat_success()
        if seen.path != "/v1/chat/completions":
            reply = chat_error(404, f"no route {seen.path}")
        elif self.api_key and seen.headers.get("authorization") != f"Bearer {self.api_key}":
            reply = chat_error(401, "invalid api key")
        else:
            reply = scripted
        payload = reply.body if isinstance(reply.body, bytes) else json.dumps(reply.body).encode()
        handler.send_response(reply.status)
        handler.send_header("content-type", "application/json")
        handler.send_header("content-length", str(len(payload)))
        for name, value in reply.headers.items():
            handler.send_header(name, value)
        handler.end_headers()
        handler.wfile.write(payload)
