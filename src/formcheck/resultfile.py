"""Reading a result JSON that may come from anywhere: its size, its nesting, the JSON Schema,
then :class:`~formcheck.core.session.Session`.

``formcheck report`` and the review store's import read results through :func:`load_result`.
A file that is not a valid result (not JSON, wrong types, nested too deeply, numbers too large,
too big) raises one :class:`~formcheck.errors.InputError` whose message is a single line naming
the file and the first problem; nothing else escapes. The schema is the one shipped in the
package (``schema/session.schema.json``, :func:`formcheck.core.session.schema`), checked with
``jsonschema`` (a core dependency for this).
"""

from __future__ import annotations

import functools
import json
import os
from typing import Any

from formcheck.core.session import SCHEMA_ID, SCHEMA_VERSION, Session, schema
from formcheck.errors import FormcheckError, InputError, require_file

#: A result is a few kB per rep; anything larger is not one (and is not read).
MAX_RESULT_BYTES = 32 * 1024 * 1024
#: Results nest about 6 levels deep; JSON nested deeper than this is refused before the schema.
MAX_DEPTH = 40
#: Integers must fit SQLite's (and NumPy's) 64 bits.
MAX_INT = 2**63 - 1
_MESSAGE_CHARS = 160


def load_result(path: str | os.PathLike) -> Session:
    """The :class:`Session` in a result file; InputError (one line) if it is not a valid one."""
    return read_result(path)[0]


def read_result(path: str | os.PathLike) -> tuple[Session, dict]:
    """The :class:`Session` in a result file and the document it was read from (validated)."""
    p = require_file(path, "result file", "a result .json file")
    try:
        size = p.stat().st_size
        if size > MAX_RESULT_BYTES:
            raise InputError(
                f"{p} is too large for a result ({size / 1e6:.0f} MB; at most "
                f"{MAX_RESULT_BYTES // 2**20} MiB)"
            )
        text = p.read_bytes().decode("utf-8")
    except UnicodeDecodeError:
        raise InputError(f"{p} is not a JSON result file (not UTF-8 text)") from None
    except OSError as exc:
        raise InputError(f"cannot read {p}: {exc.strerror or exc}") from None
    return session_from_text(text, str(p))


def session_from_text(text: str, where: str) -> tuple[Session, dict]:
    """The :class:`Session` in the JSON ``text`` (``where`` names it in messages) and the
    document."""
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"{where} is not a JSON result file ({exc})") from None
    except RecursionError:
        raise InputError(f"{where} is nested too deeply to be a result") from None
    return session_from_doc(doc, where), doc


def session_from_doc(doc: Any, where: str) -> Session:
    """The :class:`Session` of a decoded result document, after :func:`result_problem`."""
    problem = result_problem(doc)
    if problem:
        raise InputError(f"{where} is not a valid formcheck result: {problem}")
    try:
        return Session.from_dict(doc)
    except FormcheckError as exc:
        raise InputError(f"{where}: {_one_line(str(exc))}") from None
    except (KeyError, TypeError, AttributeError, ValueError, RecursionError) as exc:
        raise InputError(
            f"{where} is not a valid formcheck result ({type(exc).__name__}: {_one_line(str(exc))})"
        ) from None


def result_problem(doc: Any) -> str | None:
    """What is wrong with a decoded result document (first problem, one line), or None."""
    if not isinstance(doc, dict) or doc.get("schema") != SCHEMA_ID:
        return f"not a formcheck session result (missing 'schema': '{SCHEMA_ID}')"
    major = str(doc.get("schema_version", "0")).split(".")[0]
    if major != SCHEMA_VERSION.split(".")[0]:
        return f"unsupported result schema version {_one_line(repr(doc.get('schema_version')))}"
    problem = structure_problem(doc)
    if problem:
        return problem
    return schema_problem(doc)


def structure_problem(doc: Any, max_depth: int = MAX_DEPTH) -> str | None:
    """Nesting deeper than ``max_depth`` or an integer beyond 64 bits (checked without
    recursion, so any depth is safe), or None."""
    stack: list[tuple[Any, int, tuple]] = [(doc, 1, ())]
    while stack:
        node, depth, where = stack.pop()
        if isinstance(node, dict):
            items = node.items()
        elif isinstance(node, list):
            items = enumerate(node)
        else:
            if isinstance(node, int) and not isinstance(node, bool) and abs(node) > MAX_INT:
                return f"{_path(where)}: number too large"
            continue
        if depth > max_depth:
            return f"{_path(where)}: nested deeper than {max_depth} levels"
        stack.extend((v, depth + 1, (*where, k)) for k, v in items)
    return None


def schema_problem(doc: Any) -> str | None:
    """The first place ``doc`` breaks the result's JSON Schema, or None."""
    from jsonschema.exceptions import best_match

    err = best_match(_validator().iter_errors(doc))
    if err is None:
        return None
    return f"{_path(tuple(err.absolute_path))}: {_one_line(err.message)}"


@functools.lru_cache(maxsize=1)
def _validator():
    from jsonschema import Draft202012Validator

    return Draft202012Validator(schema())


def _path(where: tuple) -> str:
    parts = [str(k) for k in where]
    if len(parts) > 8:
        parts = [*parts[:4], "…", *parts[-2:]]
    return _one_line("/".join(parts)) or "(top level)"


def _one_line(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= _MESSAGE_CHARS else text[: _MESSAGE_CHARS - 1] + "…"


__all__ = [
    "MAX_DEPTH",
    "MAX_RESULT_BYTES",
    "load_result",
    "read_result",
    "result_problem",
    "schema_problem",
    "session_from_doc",
    "session_from_text",
    "structure_problem",
]
