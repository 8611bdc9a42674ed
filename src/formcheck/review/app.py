"""The coach's review app: ``formcheck review [DIR]``.

Starlette + Jinja2 templates + plain JavaScript (no CDN, nothing fetched from elsewhere),
served by uvicorn. Sets come from the SQLite review store (:mod:`formcheck.review.store`); result
jsons in DIR that are not in the store yet are imported on start.

Security model (docs/review.md): loopback-only by default; any other bind address needs an access
token checked on every request (``Authorization: Bearer``, or a cookie set from ``?token=``);
``Host`` checked against loopback names when there is no token (DNS rebinding); writes need a
double-submit CSRF token plus a same-origin ``Origin``/``Sec-Fetch-Site``; files are served
only by set id and from a fixed list of that set's own result files; all text is escaped by
Jinja2 autoescape and a strict Content-Security-Policy forbids inline scripts.
"""

from __future__ import annotations

import csv
import hmac
import io
import ipaddress
import json
import os
import re
import secrets
import threading
import time
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import click

from formcheck.errors import FormcheckError, InputError
from formcheck.sinks.report import (PLOT_AXES, RULE_TITLES, angle_plot_png, form_score, grab_frame,
                      load_frames, render_report, rep_measures, result_files, thumb_frame)
from formcheck.core.rules import RULE_IDS
from formcheck.review.store import VERDICTS, Store, open_store

HERE = Path(__file__).parent
TOKEN_COOKIE = "formcheck_token"
CSRF_COOKIE = "formcheck_csrf"
CSRF_HEADER = "x-csrf-token"
TOKEN_ENV = "FORMCHECK_REVIEW_TOKEN"
LOOPBACK_NAMES = ("127.0.0.1", "localhost", "::1", "[::1]")
CSP = ("default-src 'self'; img-src 'self' data:; media-src 'self'; script-src 'self'; "
       "style-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; "
       "form-action 'self'; frame-ancestors 'none'")
#: The result files of a set that may be served, by kind -> file name pattern.
MEDIA_FILES = {"annotated": "{stem}.annotated.mp4", "json": "{stem}.json",
               "reps_csv": "{stem}.reps.csv", "frames_csv": "{stem}.frames.csv",
               "webm": "{stem}.review.webm"}
WEBM_MAX_WIDTH = 960
RESCAN_S = 5.0  # at most this often, the sets list looks for new result files


def is_loopback(host: str) -> bool:
    h = host.strip("[]")
    if h == "localhost":
        return True
    try:
        return ipaddress.ip_address(h).is_loopback
    except ValueError:
        return False


# -- security middleware ---------------------------------------------------------------------
class Guard:
    """Pure ASGI middleware: access token, Host check, CSRF, security headers."""

    def __init__(self, app, token: str | None = None,
                 allowed_hosts: list[str] | None = None) -> None:
        self.app = app
        self.token = token or None
        self.allowed_hosts = [h.lower() for h in allowed_hosts] if allowed_hosts else None

    async def __call__(self, scope, receive, send):
        if scope["type"] == "lifespan":
            return await self.app(scope, receive, send)
        if scope["type"] != "http":  # no websockets here
            return
        from starlette.requests import Request
        from starlette.responses import PlainTextResponse, RedirectResponse

        req = Request(scope)
        host = (req.headers.get("host") or "").lower()
        hostname = _hostname(host)
        if self.allowed_hosts is not None and hostname not in self.allowed_hosts:
            return await PlainTextResponse("unknown Host header", 400)(scope, receive, send)

        if self.token:
            qtok = req.query_params.get("token")
            if qtok is not None and req.method in ("GET", "HEAD"):
                if not _same(qtok, self.token):
                    return await self._denied(scope, receive, send)
                rest = [(k, v) for k, v in req.query_params.multi_items() if k != "token"]
                url = req.url.path + ("?" + urlencode(rest) if rest else "")
                resp = RedirectResponse(url, 303)
                resp.set_cookie(TOKEN_COOKIE, self.token, httponly=True, samesite="lax",
                                path="/")
                return await resp(scope, receive, send)
            auth = req.headers.get("authorization", "")
            bearer = auth[7:].strip() if auth.lower().startswith("bearer ") else None
            if not (_same(bearer, self.token) or _same(req.cookies.get(TOKEN_COOKIE),
                                                       self.token)):
                return await self._denied(scope, receive, send)

        csrf = req.cookies.get(CSRF_COOKIE)
        new_csrf = None
        if not csrf or not re.fullmatch(r"[A-Za-z0-9_\-]{32,64}", csrf):
            csrf = new_csrf = secrets.token_urlsafe(32)
        scope.setdefault("state", {})["csrf"] = csrf

        if req.method not in ("GET", "HEAD", "OPTIONS"):
            why = self._csrf_problem(req, host)
            if why:
                return await PlainTextResponse(f"forbidden: {why}", 403)(scope, receive, send)

        async def send_wrapped(message):
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                names = {k.lower() for k, _ in headers}
                for k, v in ((b"content-security-policy", CSP.encode()),
                             (b"x-content-type-options", b"nosniff"),
                             (b"referrer-policy", b"no-referrer"),
                             (b"x-frame-options", b"DENY"),
                             (b"cross-origin-resource-policy", b"same-origin")):
                    if k not in names:
                        headers.append((k, v))
                if new_csrf:
                    headers.append((b"set-cookie", f"{CSRF_COOKIE}={new_csrf}; Path=/; "
                                                   f"SameSite=Strict; HttpOnly".encode()))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_wrapped)

    @staticmethod
    def _csrf_problem(req, host: str) -> str | None:
        site = req.headers.get("sec-fetch-site")
        if site is not None and site not in ("same-origin", "none"):
            return f"cross-site request ({site})"
        origin = req.headers.get("origin")
        if origin is not None:
            if origin == "null" or urlsplit(origin).netloc.lower() != host:
                return "Origin does not match"
        sent, cookie = req.headers.get(CSRF_HEADER), req.cookies.get(CSRF_COOKIE)
        if not sent or not cookie or not _same(sent, cookie):
            return "missing or wrong CSRF token"
        return None

    async def _denied(self, scope, receive, send):
        from starlette.responses import HTMLResponse
        body = ("<!doctype html><title>formcheck review: token needed</title>"
                "<h1>Access token needed</h1><p>Open the address printed by "
                "<code>formcheck review</code> (it ends in <code>?token=...</code>), or send "
                "<code>Authorization: Bearer TOKEN</code>.</p>")
        await HTMLResponse(body, 401, headers={"www-authenticate": "Bearer"})(scope, receive,
                                                                               send)


def _hostname(host: str) -> str:
    if host.startswith("["):
        return host[:host.find("]") + 1] if "]" in host else host
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


def _same(a: str | None, b: str | None) -> bool:
    return a is not None and b is not None and hmac.compare_digest(a.encode(), b.encode())


# -- browser-playable video ------------------------------------------------------------------
_TRANSCODE_LOCKS: dict[str, threading.Lock] = {}
_TRANSCODE_GUARD = threading.Lock()


def playable_source(s: dict) -> Path | None:
    """The video to show for a set: its annotated video, else the source video."""
    base = Path(s["base_dir"])
    ann = base / MEDIA_FILES["annotated"].format(stem=s["stem"])
    if ann.is_file():
        return ann
    vp = s.get("video_path")
    return Path(vp) if vp and Path(vp).is_file() else None


def webm_path(s: dict, cache_dir: Path) -> Path:
    base = Path(s["base_dir"])
    p = base / MEDIA_FILES["webm"].format(stem=s["stem"])
    if p.exists() or os.access(base, os.W_OK):
        return p
    return cache_dir / f"set{s['id']}.review.webm"


def ensure_webm(s: dict, cache_dir: Path) -> Path | None:
    """A VP8 WebM copy of the set's video (Chromium cannot play OpenCV's 'mp4v'), cached."""
    src = playable_source(s)
    if src is None:
        return None
    out = webm_path(s, cache_dir)
    with _TRANSCODE_GUARD:
        lock = _TRANSCODE_LOCKS.setdefault(str(out), threading.Lock())
    with lock:
        if out.is_file() and out.stat().st_mtime >= src.stat().st_mtime and out.stat().st_size:
            return out
        transcode_webm(src, out)
    return out


def transcode_webm(src: Path, out: Path, max_width: int = WEBM_MAX_WIDTH) -> Path:
    import cv2
    cap = cv2.VideoCapture(str(src))
    if not cap.isOpened():
        raise InputError(f"cannot open {src.name}")
    fps = cap.get(cv2.CAP_PROP_FPS) or 30.0
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.stem + ".tmp.webm")
    writer = None
    try:
        while True:
            ok, frame = cap.read()
            if not ok:
                break
            h, w = frame.shape[:2]
            if w > max_width:
                nh = int(round(h * max_width / w / 2) * 2)
                frame = cv2.resize(frame, (max_width, nh), interpolation=cv2.INTER_AREA)
            if writer is None:
                writer = cv2.VideoWriter(str(tmp), cv2.VideoWriter_fourcc(*"VP80"), fps,
                                         (frame.shape[1], frame.shape[0]))
                if not writer.isOpened():
                    raise InputError("this OpenCV build cannot write VP8 WebM")
            writer.write(frame)
    finally:
        cap.release()
        if writer is not None:
            writer.release()
    if writer is None:
        tmp.unlink(missing_ok=True)
        raise InputError(f"no frames in {src.name}")
    os.replace(tmp, out)
    return out


# -- view helpers ----------------------------------------------------------------------------
def rule_title(rule: str) -> str:
    return RULE_TITLES.get(rule, rule.replace("_", " "))


def _fmt_value(f: dict) -> str:
    v, u = f.get("value"), f.get("unit") or ""
    if v is None:
        return "–"
    if u == "m":
        return f"{v * 100:.1f} cm"
    if u == "deg":
        return f"{v:.1f}°"
    if u == "s":
        return f"{v:.1f} s"
    if u == "reps":
        return f"{v:.0f} reps"
    return f"{v:.2f} {u}"


def _fmt_threshold(f: dict) -> str:
    t, u, c = f.get("threshold"), f.get("unit") or "", f.get("comparison") or ""
    if t is None:
        return ""
    limit = {"<": "at least", ">": "at most"}.get(c, "limit")
    return f"{limit} {_fmt_value({'value': t, 'unit': u})}"


def set_view(store: Store, set_id: int) -> dict | None:
    """Everything the set page and the exports show about one set."""
    s = store.get_set(set_id)
    if s is None:
        return None
    session = store.session(set_id)
    findings = store.findings(set_id)
    reviews = {(f["rep_idx"], f["rule"]): {"verdict": f["verdict"]} for f in findings
               if f["verdict"]}
    conf = {(r.index, x.rule): x.confidence for r in session.reps for x in r.findings}
    by_rep: dict[int, list[dict]] = {}
    for f in findings:
        f["title"] = rule_title(f["rule"])
        f["value_text"] = _fmt_value(f)
        f["threshold_text"] = _fmt_threshold(f)
        c = conf.get((f["rep_idx"], f["rule"]))
        f["confidence_text"] = f"confidence {100 * c:.0f} %" if c is not None else ""
        by_rep.setdefault(f["rep_idx"], []).append(f)
    reps = []
    for r in session.reps:
        reps.append(dict(index=r.index, start_s=r.start_s, end_s=r.end_s,
                         top_start_s=r.top_start_s, top_end_s=r.top_end_s,
                         peak=r.peak_angle_deg, hold=r.hold_s, lowering=r.lowering_s,
                         faults=list(r.faults), measures=rep_measures(r, session),
                         findings=by_rep.get(r.index, []),
                         flagged=bool(r.faults) or bool(by_rep.get(r.index))))
    score = form_score(session)
    reviewed_score = form_score(session, reviews)
    return dict(set=s, session=session, reps=reps, set_findings=by_rep.get(0, []),
                findings=findings, score=score, reviewed_score=reviewed_score,
                duration=float(session.video.get("duration_s") or 0.0),
                has_video=playable_source(s) is not None)


EXPORT_COLUMNS = ("set", "athlete", "date", "exercise", "video", "rep", "rep_start_s",
                  "rep_end_s", "rule", "severity", "value", "unit", "threshold", "comparison",
                  "time_s", "message", "cue", "verdict", "note", "reviewer", "reviewed_utc")


def export_rows(view: dict) -> list[dict]:
    """One row per finding (and one per clean rep), with the coach's current verdict."""
    s = view["set"]
    base = dict(set=s["stem"], athlete=s["athlete"], date=s["set_date"],
                exercise=s["exercise"], video=s["video_name"])
    rows = []
    for r in view["reps"]:
        rep = dict(base, rep=r["index"], rep_start_s=round(r["start_s"], 3),
                   rep_end_s=round(r["end_s"], 3))
        if not r["findings"]:
            rows.append({k: rep.get(k, "") for k in EXPORT_COLUMNS})
        for f in r["findings"]:
            rows.append({k: _blank(v) for k, v in _finding_row(rep, f).items()})
    for f in view["set_findings"]:
        rows.append({k: _blank(v) for k, v in _finding_row(dict(base, rep=""), f).items()})
    return rows


def _finding_row(rep: dict, f: dict) -> dict:
    d = {k: rep.get(k, "") for k in EXPORT_COLUMNS}
    for k in ("rule", "severity", "value", "unit", "threshold", "comparison", "time_s",
              "message", "cue", "verdict", "note", "reviewer", "reviewed_utc"):
        d[k] = f.get(k)
    return d


def _blank(v):
    return "" if v is None else v


def _csv_safe(v):
    """Neutralise spreadsheet formulas in free text (CSV injection)."""
    if isinstance(v, str) and v[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + v
    return v


# -- the app ---------------------------------------------------------------------------------
def create_app(store: Store, *, token: str | None = None, reviewer: str = "",
               allowed_hosts: list[str] | None = None, prepare_videos: bool = False,
               import_dir: str | os.PathLike | None = None):
    """The Starlette app over ``store``. ``token``: required on every request when set;
    ``allowed_hosts``: accepted ``Host`` names (None: any); ``import_dir``: result folder
    rescanned for new results when the sets list is opened."""
    import jinja2
    from starlette.applications import Starlette
    from starlette.exceptions import HTTPException
    from starlette.requests import Request
    from starlette.responses import (FileResponse, HTMLResponse, JSONResponse, Response)
    from starlette.routing import Mount, Route
    from starlette.staticfiles import StaticFiles
    from starlette.templating import Jinja2Templates

    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(HERE / "templates")),
                             autoescape=True, undefined=jinja2.StrictUndefined)
    env.filters["rule_title"] = rule_title
    env.globals["verdicts"] = VERDICTS
    templates = Jinja2Templates(env=env)
    cache_dir = store.path.parent / ".formcheck-cache"

    def get_view(request) -> dict:
        view = set_view(store, request.path_params["set_id"])
        if view is None:
            raise HTTPException(404, "no such set")
        return view

    last_scan = [time.monotonic()]

    def index(request: Request):
        if import_dir is not None and time.monotonic() - last_scan[0] > RESCAN_S:
            last_scan[0] = time.monotonic()
            store.import_dir(import_dir)  # results written since the start show up too
        q = request.query_params
        filters = {k: q.get(k) or None for k in ("athlete", "date", "exercise", "fault")}
        sets = store.list_sets(**filters)
        for s in sets:
            s["faults_list"] = [(k, s["fault_counts"][k]) for k in
                                [*[r for r in RULE_IDS if r in s["fault_counts"]],
                                 *sorted(k for k in s["fault_counts"] if k not in RULE_IDS)]]
        return templates.TemplateResponse(request, "index.html", {
            "sets": sets, "facets": store.facets(), "filters": filters,
            "csrf": request.state.csrf, "reviewer": reviewer})

    def set_page(request: Request):
        view = get_view(request)
        s = view["set"]
        data = {"id": s["id"], "duration": view["duration"], "plot_axes": PLOT_AXES,
                "reps": [{k: r[k] for k in ("index", "start_s", "end_s", "top_start_s",
                                            "top_end_s", "flagged")} for r in view["reps"]],
                "findings": [{"id": f["id"], "rep": f["rep_idx"], "rule": f["rule"],
                              "time_s": f["time_s"], "verdict": f["verdict"]}
                             for f in view["findings"]],
                "default_reviewer": reviewer}
        return templates.TemplateResponse(request, "set.html", {
            **view, "data": data, "csrf": request.state.csrf, "reviewer": reviewer})

    def video(request: Request):
        s = store.get_set(request.path_params["set_id"])
        if s is None:
            raise HTTPException(404, "no such set")
        try:
            p = ensure_webm(s, cache_dir)
        except InputError as exc:
            raise HTTPException(500, str(exc)) from None
        if p is None:
            raise HTTPException(404, "this set has no video")
        return FileResponse(p, media_type="video/webm",
                            headers={"cache-control": "private, max-age=60"})

    def media(request: Request):
        """Only the set's own result files, by their exact names: no paths at all."""
        s = store.get_set(request.path_params["set_id"])
        name = request.path_params["name"]
        if s is None:
            raise HTTPException(404, "no such set")
        allowed = {pat.format(stem=s["stem"]) for pat in MEDIA_FILES.values()}
        if "/" in name or "\\" in name or name in ("", ".", "..") or name not in allowed:
            raise HTTPException(404, "not a file of this set")
        base = Path(s["base_dir"]).resolve()
        p = (base / name).resolve()
        if p.parent != base or not p.is_file():
            raise HTTPException(404, "not found")
        return FileResponse(p)

    def plot(request: Request):
        view = get_view(request)
        session = view["session"]
        reviews = {(f["rep_idx"], f["rule"]): {"verdict": f["verdict"]}
                   for f in view["findings"] if f["verdict"]}
        frames = load_frames(result_files(session, view["set"]["base_dir"])["frames_csv"])
        return Response(angle_plot_png(session, frames, reviews), media_type="image/png",
                        headers={"cache-control": "no-store"})

    def thumb(request: Request):
        view = get_view(request)
        idx = request.path_params["rep"]
        rep = next((r for r in view["session"].reps if r.index == idx), None)
        if rep is None:
            raise HTTPException(404, "no such rep")
        files = result_files(view["session"], view["set"]["base_dir"])
        frame = grab_frame(files["annotated_video"] or files["video"], thumb_frame(rep), 320)
        if frame is None:
            raise HTTPException(404, "no video frame")
        import cv2
        ok, buf = cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, 80])
        return Response(buf.tobytes(), media_type="image/jpeg",
                        headers={"cache-control": "private, max-age=3600"})

    async def _json(request: Request) -> dict:
        if not request.headers.get("content-type", "").startswith("application/json"):
            raise HTTPException(415, "send application/json")
        try:
            body = await request.json()
        except (ValueError, UnicodeDecodeError):
            raise HTTPException(400, "bad JSON") from None
        if not isinstance(body, dict):
            raise HTTPException(400, "expected a JSON object")
        return body

    async def save_review(request: Request):
        body = await _json(request)
        verdict = body.get("verdict")
        if verdict not in VERDICTS:
            return JSONResponse({"error": f"verdict must be one of {', '.join(VERDICTS)}"}, 400)
        note, who = body.get("note") or "", body.get("reviewer") or reviewer
        if not isinstance(note, str) or not isinstance(who, str):
            return JSONResponse({"error": "note and reviewer must be text"}, 400)
        from starlette.concurrency import run_in_threadpool
        try:
            row = await run_in_threadpool(store.add_review, request.path_params["finding_id"],
                                          verdict, note, who)
        except KeyError:
            return JSONResponse({"error": "no such finding"}, 404)
        return JSONResponse(row)

    async def save_athlete(request: Request):
        body = await _json(request)
        name = body.get("athlete")
        if not isinstance(name, str) or not name.strip():
            return JSONResponse({"error": "athlete name is empty"}, 400)
        from starlette.concurrency import run_in_threadpool
        try:
            await run_in_threadpool(store.set_athlete, request.path_params["set_id"], name)
        except KeyError:
            return JSONResponse({"error": "no such set"}, 404)
        return JSONResponse({"athlete": store.get_set(request.path_params["set_id"])["athlete"]})

    def api_set(request: Request):
        view = get_view(request)
        return JSONResponse({"set": _public_set(view["set"]), "findings": view["findings"],
                             "score": view["score"], "reviewed_score": view["reviewed_score"]})

    def export_csv(request: Request):
        view = get_view(request)
        buf = io.StringIO()
        w = csv.DictWriter(buf, EXPORT_COLUMNS, lineterminator="\n")
        w.writeheader()
        for row in export_rows(view):
            w.writerow({k: _csv_safe(v) for k, v in row.items()})
        return Response(buf.getvalue(), media_type="text/csv; charset=utf-8", headers={
            "content-disposition": _attachment(f"{view['set']['stem']}.review.csv")})

    def export_json(request: Request):
        view = get_view(request)
        s = view["set"]
        doc = {"schema": "formcheck.review", "schema_version": "1.0",
               "set": _public_set(s), "form_score": view["score"],
               "reviewed_form_score": view["reviewed_score"],
               "findings": [{k: f[k] for k in ("id", "rep_idx", "rule", "severity", "value",
                                                "unit", "threshold", "comparison", "time_s",
                                                "frame", "message", "cue", "verdict", "note",
                                                "reviewer", "reviewed_utc")}
                            for f in view["findings"]],
               "review_history": store.review_history(s["id"]),
               "session": view["session"].to_dict()}
        return Response(json.dumps(doc, indent=2), media_type="application/json", headers={
            "content-disposition": _attachment(f"{s['stem']}.review.json")})

    def export_report(request: Request):
        view = get_view(request)
        s = view["set"]
        html = render_report(view["session"], s["base_dir"], store.reviews_for_report(s["id"]),
                             athlete=s["athlete"], date=s["set_date"])
        disp = "inline" if request.query_params.get("view") else "attachment"
        return HTMLResponse(html, headers={
            "content-disposition": _attachment(f"{s['stem']}.report.html", disp),
            # the report is a standalone document: its inline styles are its own
            "content-security-policy": "default-src 'none'; img-src data:; "
                                       "style-src 'unsafe-inline'; frame-ancestors 'none'"})

    routes = [
        Route("/", index),
        Route("/sets/{set_id:int}", set_page),
        Route("/sets/{set_id:int}/video", video),
        Route("/sets/{set_id:int}/plot.png", plot),
        Route("/sets/{set_id:int}/thumb/{rep:int}.jpg", thumb),
        Route("/sets/{set_id:int}/export.csv", export_csv),
        Route("/sets/{set_id:int}/export.json", export_json),
        Route("/sets/{set_id:int}/report.html", export_report),
        Route("/media/{set_id:int}/{name:path}", media),
        Route("/api/sets/{set_id:int}", api_set),
        Route("/api/sets/{set_id:int}/athlete", save_athlete, methods=["POST"]),
        Route("/api/findings/{finding_id:int}/review", save_review, methods=["POST"]),
        Route("/favicon.ico", lambda request: FileResponse(HERE / "static" / "favicon.svg",
                                                           media_type="image/svg+xml")),
        Mount("/static", StaticFiles(directory=str(HERE / "static")), name="static"),
    ]

    async def not_found(request, exc):
        return HTMLResponse(f"<!doctype html><title>{exc.status_code}</title><p>"
                            f"{_esc(str(exc.detail))}</p>", exc.status_code)

    app = Starlette(routes=routes, exception_handlers={HTTPException: not_found})
    app.state.store = store
    if prepare_videos:
        threading.Thread(target=_prepare_all, args=(store, cache_dir), daemon=True,
                         name="formcheck-webm").start()
    return Guard(app, token=token, allowed_hosts=allowed_hosts)


def _esc(s: str) -> str:
    import html
    return html.escape(s)


def _attachment(filename: str, kind: str = "attachment") -> str:
    safe = re.sub(r"[^A-Za-z0-9._-]", "_", filename)
    return f'{kind}; filename="{safe}"'


def _public_set(s: dict) -> dict:
    return {k: s[k] for k in ("id", "stem", "video_name", "athlete", "athlete_source",
                              "set_date", "exercise", "rep_count", "attempt_count",
                              "fault_counts", "camera_view", "camera_warning", "created_utc")}


def _prepare_all(store: Store, cache_dir: Path) -> None:
    """Transcode every set's video to WebM in the background, so pages open fast."""
    for s in store.list_sets():
        full = store.get_set(s["id"])
        try:
            ensure_webm(full, cache_dir)
        except Exception:  # noqa: BLE001 - a bad video must not stop the others
            continue


# -- command ---------------------------------------------------------------------------------
@click.command("review")
@click.argument("directory", required=False, type=click.Path(file_okay=False, path_type=Path))
@click.option("--db", default=None, metavar="DIR|sqlite:///FILE",
              help="Review store [default: DIR/formcheck.sqlite].")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on; anything but loopback needs --token.")
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--token", default=None, envvar=TOKEN_ENV,
              help=f"Access token required on every request (or env {TOKEN_ENV}).")
@click.option("--reviewer", default=None, help="Default reviewer name on saved verdicts.")
@click.option("--no-prepare", is_flag=True,
              help="Don't transcode the videos for the browser in the background at start.")
def command(directory: Path | None, db: str | None, host: str, port: int, token: str | None,
            reviewer: str | None, no_prepare: bool) -> None:
    """Review flagged reps in a browser: agree / overrule / unsure, notes, exports."""
    if directory is None and db is None:
        directory = Path(".")
    if directory is not None and not directory.is_dir():
        raise InputError(f"folder not found: {directory}")
    if not is_loopback(host) and not token:
        raise FormcheckError(f"listening on {host} exposes the review app beyond this computer:"
                             f" give --token or set {TOKEN_ENV}")
    if token is not None and len(token) < 8:
        raise FormcheckError("--token must be at least 8 characters")
    store = open_store(db or directory)
    if directory is not None:
        n = len(store.import_dir(directory))
        if n:
            click.echo(f"imported {n} result(s) from {directory}", err=True)
    reviewer = reviewer or os.environ.get("USER") or os.environ.get("USERNAME") or ""
    allowed = None if token else [*LOOPBACK_NAMES, host.lower()]
    app = create_app(store, token=token, reviewer=reviewer, allowed_hosts=allowed,
                     prepare_videos=not no_prepare, import_dir=directory)
    import uvicorn
    shown = "localhost" if host in ("127.0.0.1", "0.0.0.0") else host
    url = f"http://{shown if ':' not in shown else f'[{shown}]'}:{port}/"
    click.echo(f"formcheck review: {url}{'?token=' + token if token else ''}  "
               f"(store {store.path}; Ctrl+C to stop)", err=True)
    uvicorn.run(app, host=host, port=port, log_level="warning")
