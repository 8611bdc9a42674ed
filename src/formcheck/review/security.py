"""The review app's guard: access token, ``Host`` check, CSRF and security headers.

Security model (docs/review.md): loopback-only by default; any other bind address needs an access
token checked on every request (``Authorization: Bearer``, or a cookie set from ``?token=``);
``Host`` checked against loopback names when there is no token (DNS rebinding); writes need a
double-submit CSRF token plus a same-origin ``Origin``/``Sec-Fetch-Site``; a strict
Content-Security-Policy forbids inline scripts.
"""

from __future__ import annotations

import hmac
import ipaddress
import re
import secrets
from urllib.parse import urlencode, urlsplit

from formcheck.review.limits import TokenThrottle, limited_receive, size_refusal

TOKEN_COOKIE = "formcheck_token"
CSRF_COOKIE = "formcheck_csrf"
CSRF_HEADER = "x-csrf-token"
TOKEN_ENV = "FORMCHECK_REVIEW_TOKEN"
LOOPBACK_NAMES = ("127.0.0.1", "localhost", "::1", "[::1]")
CSP = (
    "default-src 'self'; img-src 'self' data:; media-src 'self'; script-src 'self'; "
    "style-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
#: Headers added to every response that does not set them itself.
SECURITY_HEADERS = (
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
    (b"cross-origin-resource-policy", b"same-origin"),
)
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
_CSRF_FORMAT = re.compile(r"[A-Za-z0-9_\-]{32,64}")
_DENIED_HTML = (
    "<!doctype html><title>formcheck review: token needed</title>"
    "<h1>Access token needed</h1><p>Open the address printed by "
    "<code>formcheck review</code> (it ends in <code>?token=...</code>), or send "
    "<code>Authorization: Bearer TOKEN</code>.</p>"
)


def is_loopback(host: str) -> bool:
    """Whether ``host`` (a name or an address, IPv6 maybe in brackets) is this computer only."""
    h = host.strip("[]")
    if h == "localhost":
        return True
    try:
        return ipaddress.ip_address(h).is_loopback
    except ValueError:
        return False


class Guard:
    """Pure ASGI middleware: access token (wrong ones throttled per client), Host check,
    request size limits (:mod:`formcheck.review.limits`), CSRF, security headers."""

    def __init__(
        self, app, token: str | None = None, allowed_hosts: list[str] | None = None
    ) -> None:
        self.app = app
        self.token = token or None
        self.allowed_hosts = [h.lower() for h in allowed_hosts] if allowed_hosts else None
        self.throttle = TokenThrottle()

    async def __call__(self, scope, receive, send):
        if scope["type"] == "lifespan":
            return await self.app(scope, receive, send)
        if scope["type"] != "http":  # no websockets here
            return
        from starlette.requests import Request
        from starlette.responses import PlainTextResponse

        req = Request(scope)
        host = (req.headers.get("host") or "").lower()
        refusal = self._refusal(req, host)
        if refusal is not None:
            return await refusal(scope, receive, send)
        too_big = size_refusal(scope)
        if too_big is not None:
            return await PlainTextResponse(too_big[1], too_big[0])(scope, receive, send)
        csrf, new_csrf = _csrf_cookie(req)
        scope.setdefault("state", {})["csrf"] = csrf
        if req.method not in SAFE_METHODS:
            why = csrf_problem(req, host)
            if why:
                return await PlainTextResponse(f"forbidden: {why}", 403)(scope, receive, send)
        await self.app(scope, limited_receive(receive), _with_headers(send, new_csrf))

    def _refusal(self, req, host: str):
        """The response refusing this request (bad Host, no or wrong token), the redirect that
        turns ``?token=`` into a cookie, or None to go on."""
        from starlette.responses import PlainTextResponse

        if self.allowed_hosts is not None and _hostname(host) not in self.allowed_hosts:
            return PlainTextResponse("unknown Host header", 400)
        if not self.token:
            return None
        client = req.client.host if req.client else ""
        wait = self.throttle.retry_after(client)
        if wait is not None:
            return PlainTextResponse(
                "too many wrong tokens: try again later", 429, headers={"retry-after": str(wait)}
            )
        qtok = req.query_params.get("token")
        auth = req.headers.get("authorization", "")
        bearer = auth[7:].strip() if auth.lower().startswith("bearer ") else None
        cookie = req.cookies.get(TOKEN_COOKIE)
        via_query = qtok is not None and req.method in ("GET", "HEAD")
        if via_query:
            sent, ok = [qtok], _same(qtok, self.token)
        else:
            sent = [t for t in (bearer, cookie) if t is not None]
            ok = _same(bearer, self.token) or _same(cookie, self.token)
        if ok:
            self.throttle.succeeded(client)
            return _token_redirect(req, self.token) if via_query else None
        for wrong in sent:  # a wrong token (no token at all is not a guess)
            self.throttle.failed(client, wrong)
        return _denied()


def _token_redirect(req, token: str):
    """Set the token cookie and redirect to the same address without ``?token=``."""
    from starlette.responses import RedirectResponse

    rest = [(k, v) for k, v in req.query_params.multi_items() if k != "token"]
    url = req.url.path + ("?" + urlencode(rest) if rest else "")
    resp = RedirectResponse(url, 303)
    resp.set_cookie(TOKEN_COOKIE, token, httponly=True, samesite="lax", path="/")
    return resp


def csrf_problem(req, host: str) -> str | None:
    """Why a write request is refused (cross-site, foreign Origin, missing or wrong double-submit
    token), or None."""
    site = req.headers.get("sec-fetch-site")
    if site is not None and site not in ("same-origin", "none"):
        return f"cross-site request ({site})"
    origin = req.headers.get("origin")
    if origin is not None and (origin == "null" or urlsplit(origin).netloc.lower() != host):
        return "Origin does not match"
    sent, cookie = req.headers.get(CSRF_HEADER), req.cookies.get(CSRF_COOKIE)
    if not sent or not cookie or not _same(sent, cookie):
        return "missing or wrong CSRF token"
    return None


def _csrf_cookie(req) -> tuple[str, str | None]:
    """The browser's CSRF token, and a new one to set when it has none (or a malformed one)."""
    csrf = req.cookies.get(CSRF_COOKIE)
    if csrf and _CSRF_FORMAT.fullmatch(csrf):
        return csrf, None
    new = secrets.token_urlsafe(32)
    return new, new


def _with_headers(send, new_csrf: str | None):
    """``send`` adding the security headers (and the new CSRF cookie) to the response start."""

    async def send_wrapped(message):
        if message["type"] == "http.response.start":
            headers = list(message.get("headers", []))
            names = {k.lower() for k, _ in headers}
            headers += [(k, v) for k, v in SECURITY_HEADERS if k not in names]
            if new_csrf:
                headers.append(
                    (
                        b"set-cookie",
                        f"{CSRF_COOKIE}={new_csrf}; Path=/; SameSite=Strict; HttpOnly".encode(),
                    )
                )
            message = {**message, "headers": headers}
        await send(message)

    return send_wrapped


def _denied():
    from starlette.responses import HTMLResponse

    return HTMLResponse(_DENIED_HTML, 401, headers={"www-authenticate": "Bearer"})


def _hostname(host: str) -> str:
    if host.startswith("["):
        return host[: host.find("]") + 1] if "]" in host else host
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


def _same(a: str | None, b: str | None) -> bool:
    """Constant-time equality of two tokens (False if either is missing)."""
    return a is not None and b is not None and hmac.compare_digest(a.encode(), b.encode())
