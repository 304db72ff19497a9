"""A local OpenAI-compatible chat completions server for tests: Together AI's protocol on a
real loopback socket (DESIGN §5), answering from a script.

Each POST gets the next Reply of the script (the last one repeats), and is recorded with
its headers, its JSON body and the client's address, so tests can check what the enricher
sent and whether it reused its connection. A "hang" reply holds the request until the
server closes: a provider that never answers, without a sleep anywhere.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

GOOD_ENRICHMENT: dict[str, Any] = {
    "resume_analysis": {
        "career_trajectory": {
            "current_level": "senior",
            "progression_speed": "fast",
            "trajectory_type": "technical_leadership",
            "years_experience": 8.0,
            "career_changes": 0,
            "domain_expertise": ["Backend", "Payments"],
        },
        "technical_skills": ["Go", "PostgreSQL", "Kubernetes"],
        "soft_skills": ["Mentoring"],
        "leadership_scope": {
            "has_leadership": True,
            "team_size": 6,
            "leadership_level": "team_lead",
            "leadership_style": ["Hands-on"],
        },
        "company_pedigree": {
            "tier_level": "tier_1",
            "company_types": ["Fintech"],
            "recent_companies": ["Stripe"],
            "brand_recognition": "high",
        },
        "education": {
            "highest_degree": "Bachelor's",
            "institutions": ["MIT"],
            "fields_of_study": ["Computer Science"],
        },
    },
    "recruiter_insights": {
        "sentiment": "positive",
        "strengths": ["Strong technical depth"],
        "concerns": [],
        "red_flags": [],
        "cultural_fit": {
            "cultural_alignment": "strong",
            "work_style": ["Collaborative"],
            "values_alignment": ["Ownership"],
        },
        "recommendation": "hire",
        "key_themes": ["Backend leadership"],
    },
    "overall_score": 0.82,
}

USAGE = {"prompt_tokens": 900, "completion_tokens": 400, "total_tokens": 1300}


@dataclass(frozen=True)
class Reply:
    """One scripted answer: a status, headers and a body (a dict is sent as JSON)."""

    status: int = 200
    body: dict | str = ""
    headers: dict[str, str] = field(default_factory=dict)
    hang: bool = False


def chat(content: str, usage: dict | None = None) -> Reply:
    """A 200 chat completion whose first choice says ``content``."""
    return Reply(
        body={
            "id": "chatcmpl-test",
            "object": "chat.completion",
            "choices": [
                {"index": 0, "finish_reason": "stop",
                 "message": {"role": "assistant", "content": content}}
            ],
            "usage": USAGE if usage is None else usage,
        }
    )


GOOD = chat(json.dumps(GOOD_ENRICHMENT))


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: dict
    client_port: int


class FakeTogether:
    """The server; use ``serve(...)`` to run one for the length of a ``with`` block."""

    def __init__(self, script: list[Reply], on_request: Callable[[int], None] | None = None):
        self._script = script
        self._on_request = on_request or (lambda _count: None)
        self._lock = threading.Lock()
        self._released = threading.Event()
        self.received: list[Received] = []
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._httpd.daemon_threads = True
        # serve_forever notices shutdown() only between polls: poll often, so closing
        # a server does not add half a second to every test.
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True
        )

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._httpd.server_address[1]}/v1"

    def start(self) -> None:
        self._thread.start()

    def close(self) -> None:
        self._released.set()  # let hanging requests go
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join()

    def _next_reply(self, received: Received) -> tuple[Reply, int]:
        with self._lock:
            self.received.append(received)
            count = len(self.received)
        return self._script[min(count, len(self._script)) - 1], count

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as the real API

            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                length = int(self.headers.get("Content-Length", "0"))
                body = json.loads(self.rfile.read(length) or b"null")
                headers = {key.lower(): value for key, value in self.headers.items()}
                received = Received(self.path, headers, body, self.client_address[1])
                reply, count = fake._next_reply(received)
                fake._on_request(count)
                if reply.hang:
                    fake._released.wait()
                    self.close_connection = True
                    return
                self._send(reply)

            def _send(self, reply: Reply) -> None:
                raw = reply.body if isinstance(reply.body, str) else json.dumps(reply.body)
                data = raw.encode()
                self.send_response(reply.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for key, value in reply.headers.items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                pass  # keep test output clean

        return Handler


@contextmanager
def serve(
    *script: Reply, on_request: Callable[[int], None] | None = None
) -> Iterator[FakeTogether]:
    """Runs a FakeTogether answering with ``script`` for the length of the block."""
    fake = FakeTogether(list(script), on_request)
    fake.start()
    try:
        yield fake
    finally:
        fake.close()
