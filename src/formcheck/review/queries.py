"""Reading the review store: sets, filters, reps, findings with their current verdicts, history.

:class:`StoreQueries` is the read half of :class:`formcheck.review.store.Store`; rows come back
as plain dicts of the table's columns (``fault_counts`` decoded to ``{rule: n}``).
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Iterator
from contextlib import AbstractContextManager
from pathlib import Path

from formcheck.core.session import Session

_LIST_SETS = (
    "SELECT s.id, s.stem, s.video_name, s.athlete, s.set_date, s.exercise, "
    "s.rep_count, s.attempt_count, s.fault_counts, s.camera_view, s.camera_warning, "
    "s.base_dir, "
    "(SELECT COUNT(*) FROM findings f WHERE f.set_id = s.id AND f.present = 1) "
    "AS n_findings, "
    "(SELECT COUNT(DISTINCT r.finding_id) FROM reviews r JOIN findings f ON "
    "f.id = r.finding_id WHERE f.set_id = s.id AND f.present = 1) AS n_reviewed "
    "FROM sets s"
)
_ORDER = "ORDER BY s.set_date DESC, s.athlete, s.stem"
_FINDINGS = (
    "SELECT f.*, r.verdict, r.note, r.reviewer, r.created_utc AS reviewed_utc, "
    "r.id AS review_id FROM findings f LEFT JOIN reviews r ON r.id = "
    "(SELECT MAX(id) FROM reviews WHERE finding_id = f.id) WHERE f.set_id=?"
)


def set_filters(
    athlete: str | None = None,
    date: str | None = None,
    date_from: str | None = None,
    date_to: str | None = None,
    exercise: str | None = None,
    fault: str | None = None,
) -> tuple[list[str], list[str]]:
    """SQL conditions on ``sets s`` and their arguments for the given (non-empty) filters."""
    conds = [
        ("s.athlete = ?", athlete),
        ("s.set_date LIKE ?", date.replace("%", "") + "%" if date else None),
        ("s.set_date >= ?", date_from),
        ("s.set_date <= ?", date_to),
        ("s.exercise = ?", exercise),
        (
            "EXISTS (SELECT 1 FROM findings f WHERE f.set_id = s.id AND "
            "f.rule = ? AND f.present = 1)",
            fault,
        ),
    ]
    used = [(sql, arg) for sql, arg in conds if arg]
    return [sql for sql, _ in used], [arg for _, arg in used]


class StoreQueries:
    """Read-only queries over a store; needs ``connect()`` from the store."""

    path: Path

    def connect(self) -> AbstractContextManager[sqlite3.Connection]:  # pragma: no cover
        raise NotImplementedError

    def _rows(self, sql: str, args: tuple = ()) -> list[sqlite3.Row]:
        with self.connect() as con:
            return con.execute(sql, args).fetchall()

    @property
    def schema_version(self) -> int:
        with self.connect() as con:
            return con.execute("PRAGMA user_version").fetchone()[0]

    def list_sets(
        self,
        athlete: str | None = None,
        date: str | None = None,
        date_from: str | None = None,
        date_to: str | None = None,
        exercise: str | None = None,
        fault: str | None = None,
        limit: int | None = None,
        offset: int = 0,
    ) -> list[dict]:
        """Sets, newest first, filtered by athlete, date (prefix, e.g. 2026-11), exercise, fault;
        ``limit`` sets from ``offset`` (the counts are worked out for those only)."""
        where, args = set_filters(athlete, date, date_from, date_to, exercise, fault)
        ids = "SELECT s.id FROM sets s"
        if where:
            ids += " WHERE " + " AND ".join(where)
        if limit is not None:
            ids += f" {_ORDER} LIMIT ? OFFSET ?"
            args += [int(limit), int(offset)]
        sql = f"{_LIST_SETS} WHERE s.id IN ({ids}) {_ORDER}"
        return list(_decoded(self._rows(sql, tuple(args))))

    def count_sets(
        self,
        athlete: str | None = None,
        date: str | None = None,
        date_from: str | None = None,
        date_to: str | None = None,
        exercise: str | None = None,
        fault: str | None = None,
    ) -> int:
        """How many sets :meth:`list_sets` lists with these filters (without a limit)."""
        where, args = set_filters(athlete, date, date_from, date_to, exercise, fault)
        sql = "SELECT COUNT(*) FROM sets s"
        if where:
            sql += " WHERE " + " AND ".join(where)
        return int(self._rows(sql, tuple(args))[0][0])

    def facets(self) -> dict[str, list[str]]:
        """Distinct athletes, dates, exercises and fault rules (for filter menus)."""
        return {
            "athletes": [
                r[0] for r in self._rows("SELECT DISTINCT athlete FROM sets ORDER BY athlete")
            ],
            "dates": [
                r[0]
                for r in self._rows("SELECT DISTINCT set_date FROM sets ORDER BY set_date DESC")
            ],
            "exercises": [
                r[0] for r in self._rows("SELECT DISTINCT exercise FROM sets ORDER BY exercise")
            ],
            "faults": [
                r[0]
                for r in self._rows(
                    "SELECT DISTINCT rule FROM findings WHERE present=1 ORDER BY rule"
                )
            ],
        }

    def athlete_sets(self, athlete: str) -> list[dict]:
        """Every column of the athlete's sets, oldest first (by day, then analysis time)."""
        rows = self._rows(
            "SELECT * FROM sets WHERE athlete=? ORDER BY set_date, created_utc, id", (athlete,)
        )
        return list(_decoded(rows))

    def get_set(self, set_id: int) -> dict | None:
        """Every column of one set, or None."""
        rows = self._rows("SELECT * FROM sets WHERE id=?", (set_id,))
        return next(_decoded(rows), None)

    def set_id_for(self, json_path: str | os.PathLike) -> int | None:
        """The id of the set stored from ``json_path``, or None."""
        rows = self._rows("SELECT id FROM sets WHERE key=?", (str(Path(json_path).resolve()),))
        return rows[0]["id"] if rows else None

    def session(self, set_id: int) -> Session:
        """The analysis result stored for a set; KeyError if there is no such set."""
        s = self.get_set(set_id)
        if s is None:
            raise KeyError(set_id)
        return Session.from_dict(json.loads(s["session_json"]))

    def reps(self, set_id: int) -> list[dict]:
        return [
            dict(r) for r in self._rows("SELECT * FROM reps WHERE set_id=? ORDER BY idx", (set_id,))
        ]

    def findings(self, set_id: int, include_gone: bool = False) -> list[dict]:
        """Findings of a set with their current (latest) review, if any."""
        sql = _FINDINGS
        if not include_gone:
            sql += " AND f.present=1"
        sql += " ORDER BY CASE f.rep_idx WHEN 0 THEN 1000000 ELSE f.rep_idx END, f.id"
        return [dict(r) for r in self._rows(sql, (set_id,))]

    def finding(self, finding_id: int) -> dict | None:
        rows = self._rows("SELECT * FROM findings WHERE id=?", (finding_id,))
        return dict(rows[0]) if rows else None

    def review_history(self, set_id: int) -> list[dict]:
        """Every review row of a set, oldest first, with its finding's rep and rule."""
        return [
            dict(r)
            for r in self._rows(
                "SELECT r.*, f.rep_idx, f.rule FROM reviews r JOIN findings f ON f.id = "
                "r.finding_id WHERE f.set_id=? ORDER BY r.id",
                (set_id,),
            )
        ]

    def reviews_for_report(self, set_id: int) -> dict[tuple[int, str], dict]:
        """``{(rep index (0: set-level), rule): latest review}`` for :func:`report.write_report`."""
        return {
            (f["rep_idx"], f["rule"]): {
                "verdict": f["verdict"],
                "note": f["note"],
                "reviewer": f["reviewer"],
                "time": f["reviewed_utc"],
            }
            for f in self.findings(set_id)
            if f["verdict"]
        }


def _decoded(rows: list[sqlite3.Row]) -> Iterator[dict]:
    for r in rows:
        d = dict(r)
        d["fault_counts"] = json.loads(d["fault_counts"])
        yield d
