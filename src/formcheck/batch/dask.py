"""The Dask executor: the same task function on a cluster, with no shared filesystem.

The client reads each video and sends its bytes with the task; the model file is a task of its
own (its bytes in the task, so the scheduler can run it again on another worker when the one
holding it dies) and is cached on each worker machine; the task returns the result files'
bytes and the client writes them. A bounded number of tasks is in flight, so client memory
stays bounded. A task lost with a worker is run again by the scheduler; one the cluster
still loses (:func:`is_infrastructure`) is sent again, up to :data:`MAX_LOST` times, and is
then reported ``lost``: not recorded as the video's failure, so the next run redoes it.
Needs ``distributed`` (``pip install 'formcheck[cluster]'``), imported only when used.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

from formcheck import __version__
from formcheck.batch.discover import Job, Settings
from formcheck.batch.task import Result, Task, failed_result, one_line
from formcheck.batch.worker import analyse_remote, worker_version
from formcheck.errors import FormcheckError

#: Largest video sent to a Dask worker by default (MB); larger ones are refused, not sent.
DEFAULT_MAX_SIZE_MB = 512.0
#: Times a task the cluster loses (not the video's fault) is sent again in one run.
MAX_LOST = 3
#: Exceptions that say the cluster lost a task: workers that died (``KilledWorker``), data
#: that went with them (``FutureCancelledError``), connections that closed.
INFRA_NAMES = ("CancelledError", "KilledWorker", "CommClosedError", "StreamClosedError")


def is_infrastructure(exc: BaseException) -> bool:
    """Whether ``exc``, raised by a cluster task, was the cluster's doing, not the video's."""
    if isinstance(exc, (TimeoutError, ConnectionError)):
        return True
    return any(c.__name__ in INFRA_NAMES for c in type(exc).__mro__)


def lost_result(stem: str, times: int, exc: BaseException) -> Result:
    """A ``lost`` :class:`Result`: the cluster lost the task ``times`` times."""
    why = one_line(f"{type(exc).__name__}: {exc}")
    return Result(
        stem=stem,
        status="lost",
        error=f"the cluster lost this task {times} times ({why}); rerun to redo it",
    )


def _client(scheduler: str, timeout_s: float):
    try:
        from distributed import Client
    except ModuleNotFoundError:
        raise FormcheckError(
            "--scheduler needs Dask distributed: pip install 'formcheck[cluster]'"
        ) from None
    try:
        return Client(scheduler, timeout=f"{timeout_s}s", set_as_default=False)
    except (OSError, TimeoutError, ValueError) as exc:
        raise FormcheckError(
            f"cannot connect to the Dask scheduler {scheduler}: "
            f"{one_line(str(exc)) or type(exc).__name__}"
        ) from None


def _check_workers(client, scheduler: str, timeout_s: float) -> None:
    """Raise :class:`FormcheckError` unless a worker is there and all run this version."""
    try:
        client.wait_for_workers(1, timeout=timeout_s)
    except (TimeoutError, OSError):
        raise FormcheckError(
            f"the Dask scheduler {scheduler} has no workers (waited "
            f"{timeout_s:.0f} s); start some with 'dask worker {scheduler}'"
        ) from None
    try:
        versions = client.run(worker_version)
    except Exception as exc:  # noqa: BLE001
        raise FormcheckError(
            f"Dask workers at {scheduler} cannot run formcheck "
            f"({one_line(str(exc))}); install formcheck on every worker"
        ) from None
    bad = {w: v for w, v in versions.items() if v != __version__}
    if bad:
        w, v = next(iter(bad.items()))
        raise FormcheckError(
            f"Dask worker {w} has formcheck {v}, this client {__version__}; "
            "install the same version everywhere"
        )


def connect_dask(scheduler: str, timeout_s: float = 20.0):
    """A ``distributed.Client`` for ``scheduler`` with formcheck importable on its workers
    (waits up to ``timeout_s`` s for the scheduler and for a worker)."""
    client = _client(scheduler, timeout_s)
    try:
        _check_workers(client, scheduler, timeout_s)
    except FormcheckError:
        client.close()
        raise
    return client


class _Feeder:
    """Sends jobs to the cluster, at most ``window`` in flight."""

    def __init__(self, jobs: list[Job], s: Settings, client, max_bytes: int) -> None:
        from distributed import as_completed

        self.settings, self.client, self.max_bytes = s, client, max_bytes
        model_bytes = Path(s.model_path).read_bytes()
        # a task, not scattered data: if the worker holding it dies, it is run again
        self.model_future = client.submit(
            _model_blob, model_bytes, key=f"formcheck-model-{os.urandom(6).hex()}", pure=False
        )
        self.window = max(2, 2 * sum(client.nthreads().values()))
        self.queue = list(jobs)
        self.pending: dict[str, Job] = {}
        self.ac = as_completed(loop=client.loop)

    def _submit(self, job: Job) -> Result | None:
        """Send ``job``; or return why it cannot be sent."""
        if job.size > self.max_bytes:
            return failed_result(
                job.stem,
                f"{job.size / 1e6:.0f} MB is over the cluster size "
                f"limit of {self.max_bytes / 1e6:.0f} MB (--max-size-mb)",
            )
        try:
            data = job.path.read_bytes()
        except OSError as exc:
            return failed_result(job.stem, one_line(f"cannot read {job.display}: {exc}"))
        task = Task.for_job(job, self.settings, video_bytes=data)
        fut = self.client.submit(
            analyse_remote,
            task,
            self.model_future,
            pure=False,
            retries=1,
            key=f"formcheck-{job.stem}-{os.urandom(4).hex()}",
        )
        self.pending[fut.key] = job
        self.ac.add(fut)
        return None

    def submit_next(self) -> Iterator[tuple[Job, Result]]:
        """Fill the window; yield the jobs that could not be sent, failed."""
        while self.queue and len(self.pending) < self.window:
            job = self.queue.pop(0)
            refused = self._submit(job)
            if refused is not None:
                yield job, refused

    def next_done(self) -> Iterator[tuple[Job, Result]]:
        """Wait for the next task to finish; yield its job and result, unless the cluster
        lost it and it is sent again."""
        fut = next(self.ac)
        job = self.pending.pop(fut.key)
        try:
            res = fut.result()
        except Exception as exc:  # noqa: BLE001 - e.g. KilledWorker
            fut.release()
            if not is_infrastructure(exc):
                yield (
                    job,
                    failed_result(
                        job.stem, one_line(f"cluster task failed: {type(exc).__name__}: {exc}")
                    ),
                )
                return
            job.crashes += 1
            if job.crashes >= MAX_LOST:
                yield job, lost_result(job.stem, job.crashes, exc)
            else:
                self.queue.insert(0, job)  # send it again
            return
        fut.release()
        yield job, res

    def cancel(self) -> None:
        for f in list(self.ac.futures):
            f.cancel()


def _model_blob(data: bytes) -> bytes:
    """The model's bytes, as a task result that the scheduler can compute again."""
    return data


def run_dask(jobs: list[Job], s: Settings, client, max_bytes: int) -> Iterator[tuple[Job, Result]]:
    """Run ``jobs`` on a Dask cluster; yield ``(job, result)`` as each finishes. Video and
    model bytes go to the workers, result bytes come back; videos over ``max_bytes`` (bytes)
    are failed without being sent."""
    feeder = _Feeder(jobs, s, client, max_bytes)
    try:
        yield from feeder.submit_next()
        while feeder.pending:
            yield from feeder.next_done()
            yield from feeder.submit_next()
    finally:
        feeder.cancel()
