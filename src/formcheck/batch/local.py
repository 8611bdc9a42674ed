"""The local executor: a process pool on this machine, one video per worker process.

The pool uses the forkserver start method where there is one (spawn elsewhere): MediaPipe is
not fork-safe once initialised. If a worker process dies, the tasks in flight are retried on a
new pool, and a task caught in :data:`MAX_CRASHES` crashes is failed.
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import multiprocessing
import os
from collections.abc import Iterator
from concurrent.futures.process import BrokenProcessPool

from formcheck.batch.discover import Job, Settings
from formcheck.batch.task import Result, Task, failed_result, one_line
from formcheck.batch.worker import analyse_task, init_worker

#: A task in flight when a local worker process dies is retried once, then failed.
MAX_CRASHES = 2

Outcome = Iterator[tuple[Job, Result]]


def _mp_context():
    methods = multiprocessing.get_all_start_methods()
    return multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")


def _crashed(job: Job, queue: list[Job]) -> Outcome:
    """Count a worker crash against ``job``: requeue it or, after MAX_CRASHES, fail it."""
    job.crashes += 1
    if job.crashes >= MAX_CRASHES:
        yield (
            job,
            failed_result(
                job.stem, f"the worker process died while analysing this file ({job.crashes} times)"
            ),
        )
    else:
        queue.insert(0, job)


class _Pool:
    """One process pool and the tasks in flight on it (at most ``workers``, so each is
    running). ``broken``: a worker process died and the pool can take no more tasks."""

    def __init__(self, settings: Settings, workers: int, log_path: str | None, ctx) -> None:
        self.settings = settings
        self.workers = workers
        self.ex = cf.ProcessPoolExecutor(
            max_workers=workers,
            mp_context=ctx,
            initializer=init_worker,
            initargs=(settings.model_path, log_path, os.getpid()),
        )
        self.in_flight: dict[cf.Future, Job] = {}
        self.broken = False

    def fill(self, queue: list[Job]) -> None:
        """Submit jobs from the front of ``queue`` until every worker has one."""
        while queue and len(self.in_flight) < self.workers:
            job = queue.pop(0)
            task = Task.for_job(
                job, self.settings, path=str(job.path), model_path=self.settings.model_path
            )
            try:
                self.in_flight[self.ex.submit(analyse_task, task)] = job
            except BrokenProcessPool:
                queue.insert(0, job)
                self.broken = True
                return

    def harvest(self, queue: list[Job]) -> Outcome:
        """Wait for at least one task to finish; yield what finished."""
        done, _ = cf.wait(self.in_flight, return_when=cf.FIRST_COMPLETED)
        for fut in done:
            job = self.in_flight.pop(fut)
            try:
                res = fut.result()
            except BrokenProcessPool:
                self.broken = True
                yield from _crashed(job, queue)
                continue
            except Exception as exc:  # noqa: BLE001
                res = failed_result(job.stem, one_line(f"internal error: {exc!r}"))
            yield job, res

    def salvage(self, queue: list[Job]) -> Outcome:
        """After the pool broke: yield tasks that finished just before, requeue the rest."""
        for fut, job in self.in_flight.items():
            if fut.done() and not fut.cancelled() and fut.exception() is None:
                yield job, fut.result()
                continue
            yield from _crashed(job, queue)
        self.in_flight.clear()

    def run(self, queue: list[Job]) -> Outcome:
        """Run jobs from ``queue`` until it is empty or the pool breaks."""
        while (queue or self.in_flight) and not self.broken:
            self.fill(queue)
            if not self.in_flight:
                break
            yield from self.harvest(queue)
        if self.broken:
            yield from self.salvage(queue)

    def close(self) -> None:
        """Shut down; when interrupted or broken, do not wait for videos still running."""
        clean = not self.broken and not self.in_flight
        if not clean:
            for proc in list((getattr(self.ex, "_processes", None) or {}).values()):
                with contextlib.suppress(Exception):
                    proc.terminate()
        self.ex.shutdown(wait=clean, cancel_futures=True)


def run_local(jobs: list[Job], s: Settings, workers: int, log_path: str | None) -> Outcome:
    """Run ``jobs`` on a process pool; yield ``(job, result)`` as each finishes.

    At most ``workers`` tasks are in flight, so each is running; if a worker process dies,
    the tasks in flight are retried on a new pool, and a task caught in :data:`MAX_CRASHES`
    crashes is failed. ``log_path``: where the workers' native log lines go.
    """
    queue = list(jobs)
    ctx = _mp_context()
    while queue:
        pool = _Pool(s, workers, log_path, ctx)
        try:
            yield from pool.run(queue)
        finally:
            pool.close()
