"""The review app's athlete pages: ``/athlete?name=NAME`` (the athlete's sets over time with
the trend plot), ``/athlete/progress.png?name=NAME`` (the plot) and
``/athlete/progress.html?name=NAME`` (the self-contained progress report, a download; with
``&view=1`` shown in the browser)."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route
from starlette.templating import Jinja2Templates

from formcheck.review.progress import AthleteProgress, athlete_progress
from formcheck.review.progress_report import progress_plot, render_progress_report
from formcheck.review.results import utc_now
from formcheck.review.store import Store
from formcheck.review.views import attachment

#: The progress report's own policy (as the set report's): its inline styles are its own.
PROGRESS_CSP = (
    "default-src 'none'; img-src data:; style-src 'unsafe-inline'; frame-ancestors 'none'"
)


class ProgressRoutes:
    """The athlete handlers over one store."""

    def __init__(self, store: Store, templates: Jinja2Templates, reviewer: str = "") -> None:
        self.store = store
        self.templates = templates
        self.reviewer = reviewer

    def routes(self) -> list:
        return [
            Route("/athlete", self.page),
            Route("/athlete/progress.png", self.plot),
            Route("/athlete/progress.html", self.export),
        ]

    async def _progress(self, request: Request) -> AthleteProgress:
        name = request.query_params.get("name", "")
        progress = await run_in_threadpool(athlete_progress, self.store, name) if name else None
        if progress is None:
            raise HTTPException(404, "no sets for this athlete")
        return progress

    async def page(self, request: Request):
        progress = await self._progress(request)
        return self.templates.TemplateResponse(
            request,
            "athlete.html",
            {
                "p": progress,
                "sets_newest_first": list(reversed(progress.sets)),
                "csrf": request.state.csrf,
                "reviewer": self.reviewer,
            },
        )

    async def plot(self, request: Request):
        png = await run_in_threadpool(progress_plot, await self._progress(request))
        return Response(png, media_type="image/png", headers={"cache-control": "no-store"})

    async def export(self, request: Request):
        progress = await self._progress(request)
        html = await run_in_threadpool(render_progress_report, progress, utc_now())
        disp = "inline" if request.query_params.get("view") else "attachment"
        return HTMLResponse(
            html,
            headers={
                "content-disposition": attachment(f"{progress.athlete}.progress.html", disp),
                "content-security-policy": PROGRESS_CSP,
            },
        )
