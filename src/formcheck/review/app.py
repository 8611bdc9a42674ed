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
from starlette.responses import HTMLResponse
from starlette.templating import Jinja2Templates

from formcheck.review.media import start_preparing
from formcheck.review.routes import ReviewRoutes
from formcheck.review.security import Guard
from formcheck.review.store import VERDICTS, Store
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
) -> Guard:
    """The review app over ``store``, wrapped in its :class:`Guard`.

    ``token``: required on every request when set; ``allowed_hosts``: accepted ``Host`` names
    (None: any); ``prepare_videos``: transcode every set's video for the browser in the
    background now; ``import_dir``: result folder rescanned for new results when the sets list
    is opened."""
    cache_dir = store.path.parent / CACHE_DIR_NAME
    handlers = ReviewRoutes(
        store, templates(), reviewer=reviewer, cache_dir=cache_dir, import_dir=import_dir
    )
    app = Starlette(routes=handlers.routes(), exception_handlers={HTTPException: _error_page})
    app.state.store = store
    if prepare_videos:
        start_preparing(store, cache_dir)
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


async def _error_page(request, exc: HTTPException) -> HTMLResponse:
    return HTMLResponse(
        f"<!doctype html><title>{exc.status_code}</title><p>{html.escape(str(exc.detail))}</p>",
        exc.status_code,
    )
