"""A fake Gemini API server for tests and benchmarks: a real HTTP server on 127.0.0.1.

It speaks ``POST /v1beta/models/{model}:generateContent`` with Gemini's JSON shapes, checks the
``x-goog-api-key`` header, records every request it sees and answers from a per-test script:
each request takes the next scripted ``Reply`` (or calls a scripted function with the request to
get one); once the script runs out it answers with ``default`` (by default: choose option 1).

    with FakeGemini(api_key="k") as fake:
        fake.script(error(500), success({"option": 2, "reasoning": "..."}))
        ... point the brain at fake.url ...
        assert fake.count == 2
"""

from __future__ import annotations

import json
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

MODEL_VERSION = "gemini-2.5-flash-fake-001"
RETRY_INFO = "type.googleapis.com/google.rpc.RetryInfo"
QUOTA_FAILURE = "type.googleapis.com/google.rpc.QuotaFailure"
REQUESTS_METRIC = "generativelanguage.googleapis.com/generate_content_requests"
ERROR_INFO = "type.googleapis.com/google.rpc.ErrorInfo"


@dataclass(frozen=True)
class Reply:
    """One scripted answer.

    ``delay``: seconds to wait before answering. ``hang``: never answer (the connection is
    dropped when the server stops). ``drop``: close the connection without a response.
    """

    status: int = 200
    body: dict[str, Any] | bytes | None = None
    delay: float = 0.0
    headers: dict[str, str] = field(default_factory=dict)
    hang: bool = False
    drop: bool = False


@dataclass(frozen=True)
class SeenRequest:
    """A request as the server received it."""

    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> dict[str, Any]:
        return json.loads(self.body)

    @property
    def system_text(self) -> str:
        return "".join(p["text"] for p in self.json["systemInstruction"]["parts"])

    @property
    def user_text(self) -> str:
        return "".join(p["text"] for c in self.json["contents"] for p in c["parts"])


Scripted = Reply | Callable[[SeenRequest], Reply]


# ---------------------------------------------------------------- reply builders


def usage(prompt: int = 321, output: int = 27, thoughts: int = 0) -> dict[str, int]:
    data = {
        "promptTokenCount": prompt,
        "candidatesTokenCount": output,
        "totalTokenCount": prompt + output + thoughts,
    }
    if thoughts:
        data["thoughtsTokenCount"] = thoughts
    return data


def candidate_reply(
    text: str | None,
    *,
    finish: str = "STOP",
    tokens: dict[str, int] | None = None,
    delay: float = 0.0,
) -> Reply:
    """A 200 with one candidate holding ``text`` (no ``parts`` at all when ``text`` is None)."""
    content: dict[str, Any] = {"role": "model"}
    if text is not None:
        content["parts"] = [{"text": text}]
    body = {
        "candidates": [{"content": content, "finishReason": finish, "index": 0}],
        "usageMetadata": tokens if tokens is not None else usage(),
        "modelVersion": MODEL_VERSION,
        "responseId": "fake-response",
    }
    return Reply(200, body, delay=delay)


def success(answer: dict[str, Any] | None = None, *, delay: float = 0.0) -> Reply:
    """A 200 whose answer is ``answer`` as JSON (default: option 1 with a reason)."""
    answer = answer if answer is not None else {"option": 1, "reasoning": "It is the surest way."}
    return candidate_reply(json.dumps(answer), delay=delay)


def error(
    code: int, status: str = "", message: str = "", details: list[dict[str, Any]] | None = None
) -> Reply:
    """A Google API error body with HTTP status ``code``."""
    status = status or {
        400: "INVALID_ARGUMENT",
        403: "PERMISSION_DENIED",
        404: "NOT_FOUND",
        408: "DEADLINE_EXCEEDED",
        429: "RESOURCE_EXHAUSTED",
        500: "INTERNAL",
        502: "UNAVAILABLE",
        503: "UNAVAILABLE",
        504: "DEADLINE_EXCEEDED",
    }.get(code, "UNKNOWN")
    body = {
        "error": {
            "code": code,
            "message": message or f"fake {status.lower()}",
            "status": status,
            "details": details or [],
        }
    }
    return Reply(code, body)


def rate_limited(retry_delay: str = "0.01s") -> Reply:
    """A per-minute 429 with RetryInfo."""
    return error(
        429,
        message="Resource has been exhausted (e.g. check quota).",
        details=[
            {
                "@type": QUOTA_FAILURE,
                "violations": [
                    {
                        "quotaMetric": REQUESTS_METRIC,
                        "quotaId": "GenerateRequestsPerMinutePerProjectPerModel-FreeTier",
                    }
                ],
            },
            {"@type": RETRY_INFO, "retryDelay": retry_delay},
        ],
    )


def daily_quota() -> Reply:
    """A 429 for the free tier's requests-per-day quota (with a RetryInfo, as Gemini sends)."""
    return error(
        429,
        message="You exceeded your current quota, please check your plan and billing details.",
        details=[
            {
                "@type": QUOTA_FAILURE,
                "violations": [
                    {
                        "quotaMetric": REQUESTS_METRIC,
                        "quotaId": "GenerateRequestsPerDayPerProjectPerModel-FreeTier",
                    }
                ],
            },
            {"@type": RETRY_INFO, "retryDelay": "0.01s"},
        ],
    )


def prompt_blocked(reason: str = "SAFETY") -> Reply:
    return Reply(
        200,
        {
            "promptFeedback": {"blockReason": reason},
            "usageMetadata": {"promptTokenCount": 300, "totalTokenCount": 300},
            "modelVersion": MODEL_VERSION,
        },
    )


def hang() -> Reply:
    return Reply(hang=True)


def drop() -> Reply:
    return Reply(drop=True)


def answer_option_one(request: SeenRequest) -> Reply:
    """The default answer: option 1, with a reason."""
    return success()


# ---------------------------------------------------------------- the server


class FakeGemini:
    """A threaded HTTP server on 127.0.0.1 (a free port) that plays a script of replies."""

    def __init__(
        self,
        *,
        api_key: str = "test-key",
        model: str = "gemini-test",
        default: Scripted = answer_option_one,
        delay: float = 0.0,
    ) -> None:
        self.api_key = api_key
        self.model = model
        self.default = default
        self.delay = delay  # added before every reply (the bench's "answers in 200 ms")
        self.requests: list[SeenRequest] = []
        self._script: deque[Scripted] = deque()
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -------------------------------------------------------------- lifecycle

    def start(self) -> FakeGemini:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True

            def do_POST(self) -> None:
                fake._handle(self)

            def log_message(self, format: str, *args: Any) -> None:
                return

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        server.block_on_close = False
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> FakeGemini:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # -------------------------------------------------------------- use

    @property
    def url(self) -> str:
        assert self._server is not None, "start the server first"
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def count(self) -> int:
        with self._lock:
            return len(self.requests)

    def script(self, *replies: Scripted) -> None:
        """Queue replies for the next requests, in order."""
        with self._lock:
            self._script.extend(replies)

    @property
    def pending(self) -> int:
        with self._lock:
            return len(self._script)

    # -------------------------------------------------------------- serving

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        length = int(handler.headers.get("content-length") or 0)
        body = handler.rfile.read(length)
        seen = SeenRequest(
            path=handler.path,
            headers={k.lower(): v for k, v in handler.headers.items()},
            body=body,
        )
        with self._lock:
            self.requests.append(seen)
            valid_path = seen.path == f"/v1beta/models/{self.model}:generateContent"
            valid_key = seen.headers.get("x-goog-api-key") == self.api_key
            scripted: Scripted | None = None
            if valid_path and valid_key:
                scripted = self._script.popleft() if self._script else self.default
        if not valid_path:
            reply = error(404, message=f"models/{self.model} is not found here: {seen.path}")
        elif scripted is None:
            reply = error(
                400,
                message="API key not valid. Please pass a valid API key.",
                details=[{"@type": ERROR_INFO, "reason": "API_KEY_INVALID"}],
            )
        else:
            reply = scripted(seen) if callable(scripted) else scripted
        wait = self.delay + reply.delay
        if reply.hang:
            self._stopping.wait(60)
            handler.close_connection = True
            return
        if wait and self._stopping.wait(wait):
            handler.close_connection = True
            return
        if reply.drop:
            handler.close_connection = True
            return
        payload = reply.body if isinstance(reply.body, bytes) else json.dumps(reply.body).encode()
        handler.send_response(reply.status)
        handler.send_header("content-type", "application/json; charset=UTF-8")
        handler.send_header("content-length", str(len(payload)))
        for name, value in reply.headers.items():
            handler.send_header(name, value)
        handler.end_headers()
        handler.wfile.write(payload)
