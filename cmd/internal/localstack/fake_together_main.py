"""Runs cloud_run_worker's FakeTogether as a process, for the Go harnesses (package
localstack): Together AI's chat completions protocol on a loopback port, healthy until
told to storm. A candidate whose text holds a ``[[fake:<kind>]]`` marker always gets that
kind of bad answer (fake_together.by_marker: cut at max_tokens, the template echoed, a
score of 85, injected tags, a 400 for its length …), counted as "misbehaved".

It prints its base URL as the first line on stdout, then reads one command a line on
stdin and answers each with one line:

  storm <seconds> <retry_after>   answer 429 with that Retry-After for that long  -> ok
  stats                           -> {"requests": n, "rate_limited": n, "ok": n,
                                      "misbehaved": n}

End of stdin stops it. Run with cloud_run_worker on PYTHONPATH.
"""

from __future__ import annotations

import json
import sys
import time

from fake_together import GOOD, FakeTogether, Received, Reply, by_marker

RATE_LIMITED_BODY = {"error": {"message": "rate limit exceeded", "type": "rate_limit_exceeded"}}


class StormyTogether(FakeTogether):
    """Answers GOOD, or 429 during a storm; counts answers instead of keeping requests."""

    def __init__(self) -> None:
        super().__init__([GOOD])
        self._storm_until = 0.0
        self._retry_after = "1"
        self.counts = {"requests": 0, "rate_limited": 0, "ok": 0, "misbehaved": 0}

    def storm(self, seconds: float, retry_after: str) -> None:
        with self._lock:
            self._storm_until = time.monotonic() + seconds
            self._retry_after = retry_after

    def snapshot(self) -> dict[str, int]:
        with self._lock:
            return dict(self.counts)

    def _next_reply(self, received: Received) -> tuple[Reply, int]:
        # The base class keeps every request for tests to inspect; a long run would
        # hold every prompt, so only counts are kept here.
        with self._lock:
            self.counts["requests"] += 1
            count = self.counts["requests"]
            if time.monotonic() < self._storm_until:
                self.counts["rate_limited"] += 1
                headers = {"Retry-After": self._retry_after}
                return Reply(429, body=RATE_LIMITED_BODY, headers=headers), count
            reply = by_marker(received)
            self.counts["ok" if reply is GOOD else "misbehaved"] += 1
            return reply, count


def main() -> int:
    fake = StormyTogether()
    fake.start()
    print(fake.base_url, flush=True)
    try:
        for line in sys.stdin:
            command = line.split()
            if command[:1] == ["storm"] and len(command) == 3:
                fake.storm(float(command[1]), command[2])
                print("ok", flush=True)
            elif command == ["stats"]:
                print(json.dumps(fake.snapshot()), flush=True)
            elif command:
                print(json.dumps({"error": f"unknown command {line.strip()!r}"}), flush=True)
    finally:
        fake.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
