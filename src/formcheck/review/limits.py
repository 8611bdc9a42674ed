"""The review app's request limits: body size (413), query-string length (414), and a per-client
throttle on wrong access tokens (429).

Used by :class:`formcheck.review.security.Guard`, which sees every request first.
"""

from __future__ import annotations

import hashlib
import math
import threading
import time
from collections import OrderedDict

from starlette.exceptions import HTTPException

#: The largest request body (the app's writes are small JSON objects; a note is cut at
#: 10,000 characters when stored).
MAX_BODY_BYTES = 64 * 1024
#: The longest query string (filters are at most 200 characters each).
MAX_QUERY_BYTES = 4096
#: Distinct wrong tokens a client may send within :data:`FAILURE_WINDOW_S` before it gets 429.
MAX_TOKEN_FAILURES = 10
FAILURE_WINDOW_S = 60.0
#: Clients whose failures are remembered (the oldest are forgotten first).
MAX_CLIENTS = 10_000


def size_refusal(scope) -> tuple[int, str] | None:
    """``(status, message)`` refusing a request whose declared body or query string is too
    large, or None."""
    if len(scope.get("query_string", b"")) > MAX_QUERY_BYTES:
        return 414, f"the query string is longer than {MAX_QUERY_BYTES} bytes"
    for name, value in scope.get("headers", []):
        if name.lower() == b"content-length":
            try:
                declared = int(value)
            except ValueError:
                return 400, "bad Content-Length"
            if declared > MAX_BODY_BYTES:
                return 413, body_too_large()
    return None


def body_too_large() -> str:
    return f"the request body is larger than {MAX_BODY_BYTES // 1024} KB"


def limited_receive(receive, max_bytes: int = MAX_BODY_BYTES):
    """``receive`` that raises HTTPException 413 once the body passes ``max_bytes`` (also when
    it comes in chunks without a Content-Length)."""
    seen = 0

    async def receive_limited():
        nonlocal seen
        message = await receive()
        if message["type"] == "http.request":
            seen += len(message.get("body", b""))
            if seen > max_bytes:
                raise HTTPException(413, body_too_large())
        return message

    return receive_limited


class TokenThrottle:
    """Wrong access tokens per client (by address). A guess is a distinct wrong token: after
    :data:`MAX_TOKEN_FAILURES` of them within :data:`FAILURE_WINDOW_S` the client is refused
    (429) until the oldest has aged out, whatever it sends. A browser repeating one stale
    cookie makes one guess, not one per request."""

    def __init__(
        self,
        max_failures: int = MAX_TOKEN_FAILURES,
        window_s: float = FAILURE_WINDOW_S,
        clock=time.monotonic,
    ) -> None:
        self.max_failures = max_failures
        self.window_s = window_s
        self.clock = clock
        #: client -> {digest of a wrong token: when it was last sent}, oldest first
        self._failures: OrderedDict[str, OrderedDict[bytes, float]] = OrderedDict()
        self._lock = threading.Lock()

    def retry_after(self, client: str) -> int | None:
        """Seconds until ``client`` may try again, or None if it is not held back."""
        with self._lock:
            guesses = self._recent(client)
            if len(guesses) < self.max_failures:
                return None
            oldest = next(iter(guesses.values()))
            return max(1, math.ceil(oldest + self.window_s - self.clock()))

    def failed(self, client: str, token: str) -> None:
        """Note the wrong ``token`` from ``client``."""
        digest = hashlib.sha256(token.encode("utf-8", "replace")).digest()[:16]
        with self._lock:
            guesses = self._recent(client)
            if not guesses:
                self._failures[client] = guesses
                while len(self._failures) > MAX_CLIENTS:
                    self._failures.popitem(last=False)
            guesses.pop(digest, None)
            guesses[digest] = self.clock()
            while len(guesses) > self.max_failures:
                guesses.popitem(last=False)
            self._failures.move_to_end(client)

    def succeeded(self, client: str) -> None:
        with self._lock:
            self._failures.pop(client, None)

    def _recent(self, client: str) -> OrderedDict[bytes, float]:
        guesses = self._failures.get(client)
        if guesses is None:
            return OrderedDict()
        cutoff = self.clock() - self.window_s
        while guesses and next(iter(guesses.values())) <= cutoff:
            guesses.popitem(last=False)
        if not guesses:
            del self._failures[client]
        return guesses
