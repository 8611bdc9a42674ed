"""``run_batch``: analyse many videos, resumably, on a local process pool or a Dask cluster.

The run (details in ``docs/batch.md``): check the options, resolve the settings and find the
videos (:mod:`.discover`); hash each video and give it a key and a stem; skip what the
ledger (:mod:`.ledger`) says is done; analyse the rest largest first on the local pool
(:mod:`.local`) or a cluster (:mod:`.dask`), committing each result as it comes back; keep
the index up to date throughout.
"""

from __future__ import annotations

import math
import os
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from formcheck.batch.dask import DEFAULT_MAX_SIZE_MB, connect_dask, run_dask
from formcheck.batch.discover import (
    Job,
    Settings,
    discover_inputs,
    hash_jobs,
    identify,
    resolve_settings,
)
from formcheck.batch.ledger import (
    DONE_STATUSES,
    FAILED_STATUSES,
    LOCK_FILE,
    WORKER_LOG,
    Recorder,
    cleanup_tmp,
    done_state,
    index_row,
    previous_rows,
    write_index,
)
from formcheck.batch.local import run_local
from formcheck.batch.task import Result
from formcheck.core.rules import EXERCISE_CHOICES
from formcheck.errors import FormcheckError, OutputError
from formcheck.fsutil import MIN_FREE_BYTES, check_free_space, exclusive_lock, writable_dir

__all__ = ["BatchResult", "run_batch", "summary_lines", "resolve_settings"]

#: Write the index at most this often while a run is going (seconds); always at the end.
INDEX_INTERVAL_S = 5.0


@dataclass
class BatchResult:
    """The rows of the index for the videos named, and what this run did with them."""

    rows: list[dict]
    analysed: int
    skipped: int
    failed: int
    out_dir: Path

    @property
    def counts(self) -> dict[str, int]:
        c: dict[str, int] = {}
        for r in self.rows:
            c[r["status"]] = c.get(r["status"], 0) + 1
        return c


@dataclass
class _Plan:
    """The jobs of one run and their index rows (by ``id(job)``). ``primary``: the job that is
    analysed for each stem (same name and content in two folders: analysed once)."""

    jobs: list[Job]
    primary: dict[str, Job] = field(default_factory=dict)
    rows: dict[int, dict] = field(default_factory=dict)
    todo: list[Job] = field(default_factory=list)

    def all_rows(self) -> list[dict]:
        result = []
        for j in self.jobs:
            if id(j) in self.rows:
                result.append(self.rows[id(j)])
            else:  # a duplicate: same result as its primary
                first = self.primary[j.stem]
                result.append(
                    dict(
                        self.rows[id(first)],
                        path=j.display,
                        abs_path=str(j.path),
                        mtime_ns=j.mtime_ns,
                        duplicate_of=first.display,
                    )
                )
        return result

    @property
    def n_skipped(self) -> int:
        return sum(1 for r in self.rows.values() if r["this_run"] == "skipped")


def _plan(jobs: list[Job], out: Path, write_video: bool, retry_failed: bool) -> _Plan:
    """Which jobs to analyse (largest first) and which are done or failed already."""
    plan = _Plan(jobs)
    for j in jobs:
        if j.stem and j.stem in plan.primary:
            plan.primary[j.stem].duplicates.append(j)
        elif j.stem:
            plan.primary[j.stem] = j
    for j in jobs:
        if j.error:
            plan.rows[id(j)] = index_row(j, "failed", None, "failed")
            continue
        if plan.primary[j.stem] is not j:
            continue
        state, sc = done_state(out, j, write_video)
        if state in DONE_STATUSES or (state in FAILED_STATUSES and not retry_failed):
            plan.rows[id(j)] = index_row(j, state, sc, "skipped")
        else:
            plan.rows[id(j)] = index_row(j, "pending", None, "pending")
            plan.todo.append(j)
    # largest first: long videos do not end up alone at the tail of the run
    plan.todo.sort(key=lambda j: -j.size)
    return plan


@dataclass
class _Run:
    """One run's plan, ledger and index metadata. ``carried``: rows of the last index for
    videos not named in this run (kept in the index)."""

    out: Path
    settings: Settings
    plan: _Plan
    recorder: Recorder
    carried: list[dict]
    meta: dict

    def write_index(self) -> None:
        write_index(self.out, self.plan.all_rows(), self.carried, self.meta)


def _check_options(workers: int | None, max_size_mb: float, exercise: str) -> None:
    if workers is not None and workers < 1:
        raise FormcheckError(f"--workers must be at least 1, got {workers}")
    if not math.isfinite(max_size_mb) or max_size_mb <= 0:
        raise FormcheckError(f"--max-size-mb must be a positive number, got {max_size_mb}")
    if exercise not in EXERCISE_CHOICES:
        raise FormcheckError(
            f"unknown exercise '{exercise}' (choose from {', '.join(EXERCISE_CHOICES)})"
        )


def _cores() -> int:
    """Cores this process may run on."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def _make_out(out: Path) -> None:
    """--out created, writable and not full, or OutputError before any video work."""
    check_free_space(writable_dir(out), MIN_FREE_BYTES)


def _hashed_jobs(paths: list[Path], previous: dict[str, dict], quiet: bool) -> list[Job]:
    from tqdm import tqdm

    with tqdm(
        total=len(paths), desc="hashing", unit="file", disable=quiet, leave=False, file=sys.stderr
    ) as bar:
        return hash_jobs(paths, previous, bar.update)


def _meta(out: Path, settings: Settings, scheduler: str | None, workers: int) -> dict:
    return {
        "out_dir": str(out),
        "settings": {
            "exercise": settings.exercise,
            "model": settings.model_spec,
            "model_sha256": settings.model_sha256,
            "config": settings.config,
            "write_video": settings.write_video,
            "scheduler": scheduler,
            "workers": None if scheduler else workers,
        },
    }


class _Progress:
    """The progress bar (videos done of those to analyse, frames/s, failures) and counts."""

    def __init__(self, total: int, quiet: bool) -> None:
        from tqdm import tqdm

        self.analysed = 0
        self.failed = 0
        self.frames = 0
        self.t_start = time.monotonic()
        self.bar = tqdm(
            total=total,
            desc="batch",
            unit="video",
            disable=quiet or not total,
            dynamic_ncols=True,
            file=sys.stderr,
            smoothing=0.05,
        )

    def done(self, job: Job, res: Result) -> None:
        self.analysed += 1
        self.frames += int(res.frames or 0)
        if res.status in FAILED_STATUSES:
            self.failed += 1
        if res.status != "ok":
            self.bar.write(f"{res.status}: {job.display}: {res.error}", file=sys.stderr)
        fps = self.frames / max(time.monotonic() - self.t_start, 1e-6)
        self.bar.set_postfix_str(f"{fps:.0f} frames/s, failed {self.failed}", refresh=False)
        self.bar.update(1)


def _consume(results: Iterator[tuple[Job, Result]], run: _Run, progress: _Progress) -> None:
    """Commit each result as it comes in; rewrite the index every INDEX_INTERVAL_S."""
    last = time.monotonic()
    for job, res in results:
        sc = run.recorder.commit(job, res)
        run.plan.rows[id(job)] = index_row(job, res.status, sc, "analysed")
        progress.done(job, res)
        if time.monotonic() - last > INDEX_INTERVAL_S:
            run.write_index()
            last = time.monotonic()


def _execute(
    run: _Run, scheduler: str | None, workers: int, max_size_mb: float, quiet: bool
) -> int:
    """Analyse the plan's todo list; return how many were analysed. The index and the log
    are brought up to date however this ends (also on Ctrl-C)."""
    todo, s = run.plan.todo, run.settings
    client = connect_dask(scheduler) if scheduler and todo else None
    results = None
    progress = _Progress(len(todo), quiet)
    interrupted = finished = False
    try:
        if todo:
            if client is not None:
                results = run_dask(todo, s, client, int(max_size_mb * 1e6))
            else:
                results = run_local(todo, s, min(workers, len(todo)), str(run.out / WORKER_LOG))
            _consume(results, run, progress)
        finished = True
    except KeyboardInterrupt:
        interrupted = True
        raise
    finally:
        progress.bar.close()
        if results is not None:
            results.close()  # stops the pool / cancels cluster tasks still in flight
        if client is not None:
            client.close()
        try:
            run.write_index()
            run.recorder.log(
                {"event": "interrupted" if interrupted else "end", "analysed": progress.analysed}
            )
        except OutputError:
            if finished:  # else the error that ended the run is the news
                raise
    return progress.analysed


def _start(run: _Run, inputs: list, scheduler: str | None, workers: int) -> None:
    plan, s = run.plan, run.settings
    run.recorder.log(
        {
            "event": "start",
            "inputs": [str(i) for i in inputs],
            "videos": len(plan.jobs),
            "to_analyse": len(plan.todo),
            "scheduler": scheduler,
            "workers": workers,
            "key_settings": {"exercise": s.exercise, "model_sha256": s.model_sha256},
        }
    )
    run.write_index()


def run_batch(
    inputs: Iterable[str | os.PathLike],
    out_dir: str | os.PathLike,
    *,
    workers: int | None = None,
    exercise: str = "auto",
    model: str = "full",
    config: str | os.PathLike | None = None,
    scheduler: str | None = None,
    retry_failed: bool = False,
    write_video: bool = True,
    max_size_mb: float = DEFAULT_MAX_SIZE_MB,
    rotate: str | int = "auto",
    quiet: bool = True,
    echo: Callable[[str], None] | None = None,
) -> BatchResult:
    """Analyse every video named by ``inputs`` into ``out_dir``; see the module docstring.

    ``workers``: local processes (default: the cores available); ``scheduler``: a Dask
    scheduler address instead; ``max_size_mb``: largest video sent to a cluster (MB);
    ``rotate``: ``"auto"`` or a clockwise turn for every video (see
    :func:`formcheck.analysis.analyze_video`); ``echo``: receives one-line messages for the
    user. Raises :class:`FormcheckError` for bad user input before any video is analysed.
    """
    _check_options(workers, max_size_mb, exercise)
    echo = echo or (lambda m: None)
    out = Path(out_dir).expanduser()
    if out.exists() and not out.is_dir():
        raise FormcheckError(f"--out {out} exists and is not a directory")
    settings = resolve_settings(exercise, model, config, write_video, rotate)
    paths = discover_inputs(inputs, exclude=out)
    workers = _cores() if workers is None else workers
    _make_out(out)
    with exclusive_lock(out / LOCK_FILE) as mine:
        if not mine:
            raise FormcheckError(
                f"another batch is running on {out} (wait for it, or use another --out)"
            )
        return _locked_run(
            inputs, out, settings, paths, workers, scheduler, retry_failed, max_size_mb, quiet, echo
        )


def _locked_run(
    inputs, out, settings, paths, workers, scheduler, retry_failed, max_size_mb, quiet, echo
) -> BatchResult:
    """:func:`run_batch` once it holds --out's lock."""
    write_video = settings.write_video
    cleanup_tmp(out)
    previous = previous_rows(out)
    identity = settings.identity()
    jobs = _hashed_jobs(paths, previous, quiet)
    identify(jobs, identity)
    plan = _plan(jobs, out, write_video, retry_failed)
    named = {str(j.path) for j in jobs}
    run = _Run(
        out,
        settings,
        plan,
        Recorder(out, settings),
        carried=[r for k, r in previous.items() if k not in named],
        meta=_meta(out, settings, scheduler, workers),
    )
    _start(run, inputs, scheduler, workers)
    if plan.todo:
        echo(
            f"{len(jobs)} videos: {len(plan.todo)} to analyse, {plan.n_skipped} already done"
            + (f" on {scheduler}" if scheduler else f" with {workers} worker(s)")
        )
    analysed = _execute(run, scheduler, workers, max_size_mb, quiet)
    final = plan.all_rows()
    n_failed = sum(1 for r in final if r["status"] in FAILED_STATUSES)
    return BatchResult(
        rows=final, analysed=analysed, skipped=plan.n_skipped, failed=n_failed, out_dir=out
    )


def summary_lines(result: BatchResult, max_rows: int = 50) -> list[str]:
    """A table (every video when there are at most ``max_rows``, else the failures only)."""
    rows = result.rows
    shown = rows if len(rows) <= max_rows else [r for r in rows if r["status"] != "ok"]
    head = ["video", "status", "exercise", "view", "reps", "attempts", "faults", "note"]
    body = [_summary_cells(r) for r in shown]
    if not body:
        return []
    widths = [max(len(head[i]), *(len(b[i]) for b in body)) for i in range(len(head) - 1)]

    def fmt(cells: list[str]) -> str:
        return "  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=False)) + "  " + cells[-1]

    out = [fmt(head).rstrip(), "  ".join("-" * w for w in widths) + "  ----"]
    out += [fmt(b).rstrip() for b in body]
    if len(shown) < len(rows):
        out.append(f"({len(rows) - len(shown)} ok videos not listed; see index.csv)")
    return out


def _summary_cells(r: dict) -> list[str]:
    faults = ", ".join(f"{k} x{v}" for k, v in (r.get("faults") or {}).items() if v)
    note = "; ".join(r.get("warnings") or []) if r["status"] == "ok" else r.get("error") or ""
    if r.get("duplicate_of"):
        note = f"same file as {r['duplicate_of']}" + (f"; {note}" if note else "")
    counts = ["-" if r.get(k) is None else str(r[k]) for k in ("reps", "attempts")]
    ok = "none" if r["status"] == "ok" else ""
    head = [r["path"], r["status"], r.get("exercise") or "-", r.get("view") or "-"]
    return [*head, counts[0], counts[1], faults or ok, note]
