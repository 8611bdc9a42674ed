"""``formcheck report``: write the HTML report of one result (:mod:`formcheck.sinks.report`)."""

from __future__ import annotations

from pathlib import Path

import click

from formcheck.errors import FormcheckError
from formcheck.resultfile import load_result
from formcheck.sinks.report import write_report


@click.command("report")
@click.argument("result", type=click.Path(path_type=Path))
@click.option(
    "--out",
    "-o",
    "out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="HTML file to write [default: RESULT's folder/<stem>.report.html].",
)
@click.option(
    "--db",
    default=None,
    metavar="DIR|sqlite:///FILE",
    help="Include the coach's reviews from this review store "
    "[default: the store in RESULT's folder, if any].",
)
@click.option("--no-reviews", is_flag=True, help="Leave the coach's reviews out.")
def command(result: Path, out: Path | None, db: str | None, no_reviews: bool) -> None:
    """Write a self-contained HTML report for RESULT.json."""
    session = load_result(result)  # validated: a bad file is one line, exit 2
    stem = result.name[:-5] if result.name.endswith(".json") else result.stem
    out = out or result.with_name(f"{stem}.report.html")
    reviews, extra = None, {}
    if not no_reviews:
        try:
            reviews, extra = _reviews_from_store(result, db)
        except FormcheckError as exc:  # a store that cannot be read: the report without it
            if db is not None:
                raise
            click.echo(f"warning: the coach's reviews are left out: {exc}", err=True)
    write_report(session, out, base_dir=result.parent, reviews=reviews, **extra)
    click.echo(str(out))


def _reviews_from_store(result: Path, db: str | None):
    """The coach's reviews of ``result`` from ``db`` or, by default, from the nearest review
    store in its folder or up to two folders above (``formcheck review runs/`` keeps its store
    in ``runs/``, ``formcheck analyze --out runs/alice`` in ``runs/alice``)."""
    from formcheck.review.store import DB_NAME, open_store

    key = str(result.resolve())
    if db is not None:
        candidates = [db]
    else:
        folders = [result.resolve().parent, *list(result.resolve().parents)[1:3]]
        candidates = [str(f) for f in folders if (f / DB_NAME).is_file()]
    found = None
    for cand in candidates:
        st = open_store(cand)
        sid = st.set_id_for(key)
        if sid is None:
            continue
        s = st.get_set(sid)
        if s is None:
            continue
        reviews = st.reviews_for_report(sid)
        extra = {"athlete": s["athlete"], "date": s["set_date"]}
        if reviews:
            return reviews, extra
        found = found or (None, extra)
    return found or (None, {})
