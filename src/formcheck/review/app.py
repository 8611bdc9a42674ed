"""The coach's review app (served by ``formcheck review [DIR]``): :func:`create_app`.

Starlette + Jinja2 templates + plain JavaScript (no CDN, nothing fetched from elsewhere),
served by uvicorn. Sets come from the SQLite review store (:mod:`formcheck.review.store`).
The rooms: :mod:`~formcheck.review.security` (token, Host, CSRF, headers),
:mod:`~formcheck.review.routes` (handlers), :mod:`~formcheck.review.views` (what pages and
exports show), :mod:`~formcheck.review.media` (video, thumbnails, plot, result files).
All text is escaped by Jinja2 autoescape.
"""

from __future__ import annotations

import html
import os
from pathlib import Path

import jinja2
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.templating import Jinja2Templates

from formcheck.review.importer import BackgroundImport
from formcheck.review.media import start_preparing
from formcheck.review.progress_routes import ProgressRoutes
from formcheck.review.routes import ReviewRoutes
from formcheck.review.security import Guard
from formcheck.review.store import VERDICTS, Store, StoreError
from formcheck.review.views import rule_title

TEMPLATES_DIR = Path(__file__).parent / "templates"
CACHE_DIR_NAME = ".formcheck-cache"  # beside the store: WebM copies of read-only result folders


def create_app(
    store: Store,
    *,
    token: str | None = None,
    reviewer: str = "",
    allowed_hosts: list[str] | None = None,
    prepare_videos: bool = False,
    import_dir: str | os.PathLike | None = None,
    importer: BackgroundImport | None = None,
) -> Guard:
    """The review app over ``store``, wrapped in its :class:`Guard`.

    ``token``: required on every request when set; ``allowed_hosts``: accepted ``Host`` names
    (None: any); ``prepare_videos``: transcode every set's video for the browser in the
    background now; ``import_dir``: result folder rescanned for new results when the sets list
    is opened (``importer``: its import, if already started). Media are served only from inside
    ``import_dir`` (without one: from inside each set's own result folder)."""
    cache_dir = store.path.parent / CACHE_DIR_NAME
    if importer is None and import_dir is not None:
        importer = BackgroundImport(store, import_dir)
    root = importer.root if importer is not None else None
    handlers = ReviewRoutes(
        store,
        templates(),
        reviewer=reviewer,
        cache_dir=cache_dir,
        importer=importer,
        media_root=root,
    )
    app = Starlette(
        routes=[*ProgressRoutes(store, handlers.templates, reviewer).routes(), *handlers.routes()],
        exception_handlers={HTTPException: _error_page, StoreError: _store_down},
    )
    app.state.store = store
    if prepare_videos:
        start_preparing(store, cache_dir, root)
    return Guard(app, token=token, allowed_hosts=allowed_hosts)


def templates() -> Jinja2Templates:
    """The app's templates: autoescaped, strict about undefined names."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES_DIR)),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
    )
    env.filters["rule_title"] = rule_title
    env.globals["verdicts"] = VERDICTS
    return Jinja2Templates(env=env)


async def _error_page(request, exc: HTTPException) -> Response:
    if request.url.path.startswith("/api/"):  # the page's script reads {"error": ...}
        return JSONResponse({"error": str(exc.detail)}, exc.status_code, headers=exc.headers)
    return HTMLResponse(
        f"<!doctype html><title>{exc.status_code}</title><p>{html.escape(str(exc.detail))}</p>",
        exc.status_code,
        headers=exc.headers,
    )


async def _store_down(request, exc: Exception) -> Response:
    """503 when the store fails while serving (locked, corrupt, read-only, disk full)."""
    if request.url.path.startswith("/api/"):
        return JSONResponse({"error": str(exc)}, 503, headers={"retry-after": "30"})
    return HTMLResponse(
        "<!doctype html><title>503 review store unavailable</title>"
        "<h1>The review store cannot be used</h1>"
        f"<p>{html.escape(str(exc))}</p><p>Nothing was saved by this request. Fix the store "
        "(or restart <code>formcheck review</code>) and reload the page.</p>",
        503,
        headers={"retry-after": "30"},
    )
