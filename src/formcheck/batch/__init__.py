"""Batch analysis: many videos, resumably, on a local process pool or a Dask cluster.

Rooms: :mod:`.discover` (inputs, settings, jobs, keys and stems), :mod:`.task` (the records
sent to a worker and back), :mod:`.worker` (the task function and per-process model),
:mod:`.local` (process-pool executor), :mod:`.dask` (Dask executor), :mod:`.ledger` (result
files, done markers, index and log in ``--out``) and :mod:`.run` (:func:`run_batch`). The
``formcheck batch`` command is :mod:`formcheck.cli.batch`.
"""

from formcheck.batch.dask import DEFAULT_MAX_SIZE_MB, connect_dask
from formcheck.batch.discover import (
    Job,
    Settings,
    discover_inputs,
    output_stem,
    resolve_settings,
    safe_stem,
)
from formcheck.batch.ledger import (
    DONE_SUFFIX,
    INDEX_CSV,
    INDEX_JSON,
    LOG_FILE,
    TMP_SUFFIX,
    done_state,
)
from formcheck.batch.run import BatchResult, run_batch, summary_lines
from formcheck.batch.task import Result, Task
from formcheck.batch.worker import analyse_task

__all__ = [
    "DEFAULT_MAX_SIZE_MB",
    "DONE_SUFFIX",
    "INDEX_CSV",
    "INDEX_JSON",
    "LOG_FILE",
    "TMP_SUFFIX",
    "BatchResult",
    "Job",
    "Result",
    "Settings",
    "Task",
    "analyse_task",
    "connect_dask",
    "discover_inputs",
    "done_state",
    "output_stem",
    "resolve_settings",
    "run_batch",
    "safe_stem",
    "summary_lines",
]
