"""The review app's request handlers and URL table.

Pages: ``/`` (sets, filtered), ``/sets/{id}`` (player, plot, reps, findings). Media: the set's
WebM video, plot, rep thumbnails, its flagged reps' clips and animations and its best-vs-worst
image (only the files its result lists, by their exact names) and its own result files by exact
name. Exports: CSV, JSON and
the HTML report. API (JSON, CSRF-checked by :class:`formcheck.review.security.Guard`): save a
verdict, rename the athlete.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from starlette.concurrency import run_in_threadpool
from starlette.convertors import Convertor, register_url_convertor
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from formcheck.core.rules import RULE_IDS
from formcheck.errors import InputError
from formcheck.review import media, views
from formcheck.review.importer import BackgroundImport
from formcheck.review.listing import FILTERS, PAGE_SIZE, list_query, pager
from formcheck.review.store import VERDICTS, Store
from formcheck.sinks.clips import BEST_WORST_KIND, clip_names, rep_clip_files
from formcheck.sinks.report import render_report, rep_media

STATIC_DIR = Path(__file__).parent / "static"
RESCAN_S = 5.0  # at most this often, the sets list looks for new result files
RESCAN_WAIT_S = 1.0  # ... and waits this long for them before showing what it has
#: The standalone HTML report's own policy: its inline styles are its own.
REPORT_CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'; frame-ancestors 'none'"
#: Problem files listed by name on the sets page (the rest are counted).
SHOWN_PROBLEMS = 50
__all__ = ["FILTERS", "RESCAN_S", "ReviewRoutes"]


class _IdConvertor(Convertor[int]):
    """Path ids (sets, findings, reps): 1 to 18 digits, so every id fits SQLite's 64 bits; a
    longer one matches no route (404)."""

    regex = "[0-9]{1,18}"

    def convert(self, value: str) -> int:
        return int(value)

    def to_string(self, value: int) -> str:
        return str(int(value))


register_url_convertor("id", _IdConvertor())


class ReviewRoutes:
    """The handlers over one store. ``importer``: the result folder's import, run again when
    the sets list is opened (at most every :data:`RESCAN_S` s); ``media_root``: the served
    folder, the only place videos, thumbnails and result files are read from (None: each
    set's own result folder)."""

    def __init__(
        self,
        store: Store,
        templates: Jinja2Templates,
        *,
        reviewer: str = "",
        cache_dir: Path,
        importer: BackgroundImport | None = None,
        media_root: str | os.PathLike | None = None,
    ) -> None:
        self.store = store
        self.templates = templates
        self.reviewer = reviewer
        self.cache_dir = cache_dir
        self.importer = importer
        self.root = Path(media_root).resolve() if media_root is not None else None
        self._last_scan = time.monotonic()

    def routes(self) -> list:
        return [
            Route("/", self.index),
            Route("/sets/{set_id:id}", self.set_page),
            Route("/sets/{set_id:id}/video", self.video),
            Route("/sets/{set_id:id}/plot.png", self.plot),
            Route("/sets/{set_id:id}/thumb/{rep:id}.jpg", self.thumb),
            Route("/sets/{set_id:id}/rep/{rep:id}.mp4", self.rep_clip),
            Route("/sets/{set_id:id}/rep/{rep:id}.webp", self.rep_anim),
            Route("/sets/{set_id:id}/best-worst.jpg", self.best_worst),
            Route("/sets/{set_id:id}/export.csv", self.export_csv),
            Route("/sets/{set_id:id}/export.json", self.export_json),
            Route("/sets/{set_id:id}/report.html", self.export_report),
            Route("/media/{set_id:id}/{name:path}", self.media),
            Route("/api/sets/{set_id:id}", self.api_set),
            Route("/api/sets/{set_id:id}/athlete", self.save_athlete, methods=["POST"]),
            Route("/api/findings/{finding_id:id}/review", self.save_review, methods=["POST"]),
            Route("/favicon.ico", self.favicon),
            Mount("/static", StaticFiles(directory=str(STATIC_DIR)), name="static"),
        ]

    # -- lookups ---------------------------------------------------------------------------
    def _view(self, request: Request) -> views.SetView:
        view = views.set_view(self.store, request.path_params["set_id"], self.root)
        if view is None:
            raise HTTPException(404, "no such set")
        return view

    def _set_row(self, request: Request) -> dict:
        s = self.store.get_set(request.path_params["set_id"])
        if s is None:
            raise HTTPException(404, "no such set")
        return s

    def _root(self, s: dict) -> Path:
        """The folder a set's media must be in: the served folder, else its result folder."""
        return self.root if self.root is not None else Path(s["base_dir"])

    def _rescan(self) -> None:
        """Import results written since the start (at most every RESCAN_S s), waiting a moment
        for a small import; a long one goes on in the background and the page says so."""
        if self.importer is not None and time.monotonic() - self._last_scan > RESCAN_S:
            self._last_scan = time.monotonic()
            self.importer.start()
            self.importer.wait(RESCAN_WAIT_S)

    # -- pages -----------------------------------------------------------------------------
    def index(self, request: Request):
        filters, page = list_query(request.query_params)
        self._rescan()
        pages = pager(self.store.count_sets(**filters), page, filters)
        sets = self.store.list_sets(**filters, limit=PAGE_SIZE, offset=pages.offset)
        for s in sets:
            s["faults_list"] = _faults_in_rule_order(s["fault_counts"])
        problems = sorted(self.store.import_problems.values(), key=lambda p: p.path)
        return self.templates.TemplateResponse(
            request,
            "index.html",
            {
                "sets": sets,
                "pager": pages,
                "facets": self.store.facets(),
                "filters": filters,
                "importing": self.importer.progress if self.importer is not None else None,
                "problems": problems[:SHOWN_PROBLEMS],
                "n_problems": len(problems),
                "csrf": request.state.csrf,
                "reviewer": self.reviewer,
            },
        )

    def set_page(self, request: Request):
        view = self._view(request)
        clips, best_worst = rep_media(view.session, view.set["base_dir"], self._root(view.set))
        return self.templates.TemplateResponse(
            request,
            "set.html",
            {
                **view.context(),
                "clips": {i: {k: p.name for k, p in c.items()} for i, c in clips.items()},
                "best_worst": best_worst is not None,
                "data": views.page_data(view, self.reviewer),
                "csrf": request.state.csrf,
                "reviewer": self.reviewer,
            },
        )

    def favicon(self, request: Request):
        return FileResponse(STATIC_DIR / "favicon.svg", media_type="image/svg+xml")

    # -- media -----------------------------------------------------------------------------
    def video(self, request: Request):
        s = self._set_row(request)
        try:
            found = media.browser_video(s, self.cache_dir, self._root(s))
        except InputError as exc:
            raise HTTPException(500, str(exc)) from None
        if found is None:
            raise HTTPException(404, "this set has no video")
        p, media_type = found  # the H.264 video itself, else the WebM copy of an mp4v one
        return FileResponse(
            p, media_type=media_type, headers={"cache-control": "private, max-age=60"}
        )

    def media(self, request: Request):
        """Only the set's own result files, by their exact names: no paths at all."""
        s = self._set_row(request)
        name = request.path_params["name"]
        if not media.is_result_name(s, name):
            raise HTTPException(404, "not a file of this set")
        p = media.result_file(s, name, self._root(s))
        if p is None:
            raise HTTPException(404, "not found")
        return FileResponse(p)

    def plot(self, request: Request):
        view = self._view(request)
        png = media.angle_plot(
            view.session, view.set["base_dir"], view.verdicts(), self._root(view.set)
        )
        return Response(png, media_type="image/png", headers={"cache-control": "no-store"})

    def thumb(self, request: Request):
        view = self._view(request)
        idx = request.path_params["rep"]
        rep = next((r for r in view.session.reps if r.index == idx), None)
        if rep is None:
            raise HTTPException(404, "no such rep")
        jpeg = media.rep_thumbnail_jpeg(
            view.session, view.set["base_dir"], rep, self._root(view.set)
        )
        if jpeg is None:
            raise HTTPException(404, "no video frame")
        return Response(
            jpeg, media_type="image/jpeg", headers={"cache-control": "private, max-age=3600"}
        )

    def _listed_file(self, view: views.SetView, name: str | None, expected: str) -> Path:
        """The set's file ``name`` as its result lists it: exactly ``expected`` (no other
        name, no path), in the set's own folder inside the served one; else 404."""
        if not name or name != expected:
            raise HTTPException(404, "this set has no such file")
        p = media.result_file(view.set, name, self._root(view.set))
        if p is None:
            raise HTTPException(404, "not found")
        return p

    def _rep_file(self, request: Request, kind: str, media_type: str):
        view = self._view(request)
        idx = request.path_params["rep"]
        names = rep_clip_files(view.session.files).get(idx, {})
        expected = clip_names(view.set["stem"], idx)[0 if kind == "clip" else 1]
        p = self._listed_file(view, names.get(kind), expected)
        headers = {"cache-control": "private, max-age=3600"}
        if request.query_params.get("download"):
            headers["content-disposition"] = views.attachment(p.name)
        return FileResponse(p, media_type=media_type, headers=headers)

    def rep_clip(self, request: Request):
        """A flagged rep's clip (H.264 MP4); ``?download=1``: as an attachment."""
        return self._rep_file(request, "clip", "video/mp4")

    def rep_anim(self, request: Request):
        """A flagged rep's animated WebP."""
        return self._rep_file(request, "anim", "image/webp")

    def best_worst(self, request: Request):
        view = self._view(request)
        name = (view.session.files or {}).get(BEST_WORST_KIND)
        p = self._listed_file(view, name, f"{view.set['stem']}.best-worst.jpg")
        return FileResponse(
            p, media_type="image/jpeg", headers={"cache-control": "private, max-age=3600"}
        )

    # -- API -------------------------------------------------------------------------------
    async def save_review(self, request: Request):
        body = await _json_body(request)
        verdict = body.get("verdict")
        if verdict not in VERDICTS:
            return JSONResponse({"error": f"verdict must be one of {', '.join(VERDICTS)}"}, 400)
        note, who = body.get("note") or "", body.get("reviewer") or self.reviewer
        if not isinstance(note, str) or not isinstance(who, str):
            return JSONResponse({"error": "note and reviewer must be text"}, 400)
        try:
            row = await run_in_threadpool(
                self.store.add_review, request.path_params["finding_id"], verdict, note, who
            )
        except KeyError:
            return JSONResponse({"error": "no such finding"}, 404)
        return JSONResponse(row)

    async def save_athlete(self, request: Request):
        body = await _json_body(request)
        name = body.get("athlete")
        if not isinstance(name, str) or not name.strip():
            return JSONResponse({"error": "athlete name is empty"}, 400)
        set_id = request.path_params["set_id"]
        try:
            await run_in_threadpool(self.store.set_athlete, set_id, name)
        except KeyError:
            return JSONResponse({"error": "no such set"}, 404)
        return JSONResponse({"athlete": self.store.get_set(set_id)["athlete"]})

    def api_set(self, request: Request):
        return JSONResponse(views.api_doc(self._view(request)))

    # -- exports ---------------------------------------------------------------------------
    def export_csv(self, request: Request):
        view = self._view(request)
        return Response(
            views.export_csv(view),
            media_type="text/csv; charset=utf-8",
            headers={"content-disposition": views.attachment(f"{view.set['stem']}.review.csv")},
        )

    def export_json(self, request: Request):
        view = self._view(request)
        doc = views.export_json(view, self.store.review_history(view.set["id"]))
        return Response(
            json.dumps(doc, indent=2),
            media_type="application/json",
            headers={"content-disposition": views.attachment(f"{view.set['stem']}.review.json")},
        )

    def export_report(self, request: Request):
        view = self._view(request)
        s = view.set
        html = render_report(
            view.session,
            s["base_dir"],
            self.store.reviews_for_report(s["id"]),
            athlete=s["athlete"],
            date=s["set_date"],
            root=self._root(s),
            clip_url=f"/sets/{s['id']}/rep/{{n}}.mp4?download=1",
        )
        disp = "inline" if request.query_params.get("view") else "attachment"
        return HTMLResponse(
            html,
            headers={
                "content-disposition": views.attachment(f"{s['stem']}.report.html", disp),
                "content-security-policy": REPORT_CSP,
            },
        )


def _faults_in_rule_order(counts: dict[str, int]) -> list[tuple[str, int]]:
    """``(rule, n)`` in the rules' order, unknown rules after them alphabetically."""
    known = [r for r in RULE_IDS if r in counts]
    return [(k, counts[k]) for k in [*known, *sorted(k for k in counts if k not in RULE_IDS)]]


async def _json_body(request: Request) -> dict:
    """The request's JSON object; 415 if it is not JSON, 400 if malformed or not an object."""
    if not request.headers.get("content-type", "").startswith("application/json"):
        raise HTTPException(415, "send application/json")
    try:
        body = await request.json()
    except (ValueError, UnicodeDecodeError):
        raise HTTPException(400, "bad JSON") from None
    if not isinstance(body, dict):
        raise HTTPException(400, "expected a JSON object")
    return body
