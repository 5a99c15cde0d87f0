"""A run store on SQLite: runs, measurements and metrics; atomic and resumable.

One file per workspace (standard-library :mod:`sqlite3`, WAL journal). Every recorded epoch is
written in one transaction (:meth:`RunStore.record_epoch`), and a measurement is identified by
(run, seed, activation, epoch, layer, quantity, estimator), so a run killed at any point and
resumed from its last checkpoint re-records the epochs after it without losing or duplicating a
row. Checkpoints are written to a temporary file, synced and renamed over the old one
(:func:`save_checkpoint`), so a kill never leaves a half-written checkpoint.

Resuming a killed run::

    store = RunStore("runs.sqlite")
    store.begin_run("tanh-szt12", config)            # refuses a different config for this id
    state = load_checkpoint(ckpt) if ckpt.exists() else None
    start = 0 if state is None else state["epoch"] + 1
    for epoch in range(start, 120):
        train_one_epoch(model)
        store.record_epoch("tanh-szt12", epoch, plane.record(model, epoch), metrics)
        save_checkpoint(ckpt, {"epoch": epoch, "model": model.state_dict(), ...})

Durability: ``synchronous=NORMAL`` in WAL mode survives a killed process; a power loss may drop
the last transactions but never corrupts the file.
"""

from __future__ import annotations

import errno
import json
import math
import numbers
import os
import pickle
import sqlite3
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, NoReturn

from infolens._atomic import atomic_write
from infolens._validation import InfoLensError, check_int, fail

_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT PRIMARY KEY,
    config_json TEXT NOT NULL,
    created REAL NOT NULL,
    status TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS measurements (
    run_id TEXT NOT NULL REFERENCES runs(run_id),
    seed INTEGER NOT NULL,
    activation TEXT NOT NULL,
    epoch INTEGER NOT NULL,
    layer TEXT NOT NULL,
    quantity TEXT NOT NULL,
    estimator TEXT NOT NULL,
    value REAL,
    units TEXT NOT NULL,
    flags TEXT NOT NULL DEFAULT '',
    estimated_by TEXT,
    UNIQUE (run_id, seed, activation, epoch, layer, quantity, estimator)
);
CREATE TABLE IF NOT EXISTS metrics (
    run_id TEXT NOT NULL REFERENCES runs(run_id),
    seed INTEGER NOT NULL,
    activation TEXT NOT NULL,
    epoch INTEGER NOT NULL,
    name TEXT NOT NULL,
    value REAL,
    UNIQUE (run_id, seed, activation, epoch, name)
);
CREATE TABLE IF NOT EXISTS epochs (
    run_id TEXT NOT NULL REFERENCES runs(run_id),
    epoch INTEGER NOT NULL,
    recorded REAL NOT NULL,
    UNIQUE (run_id, epoch)
);
"""
_MEASUREMENT_FIELDS = ("seed", "activation", "epoch", "layer", "quantity", "estimator", "value", "units",
                       "flags", "estimated_by")
#: Measurement columns added after the first stored runs: ``(name, SQL type)``; a store that
#: lacks them gains them when opened (old rows read ``flags`` = "" and no ``estimated_by``).
_ADDED_COLUMNS = (("flags", "TEXT NOT NULL DEFAULT ''"), ("estimated_by", "TEXT"))
_METRIC_FIELDS = ("seed", "activation", "epoch", "name", "value")
STATUSES = ("running", "finished", "failed")
_SQLITE_FULL = 13                      # SQLITE_FULL
_SQLITE_IOERR = 10                     # SQLITE_IOERR
_SQLITE_UNWRITABLE = (3, 8, 14)        # SQLITE_PERM, SQLITE_READONLY, SQLITE_CANTOPEN


def _canonical(config: Any, fn: str) -> str:
    try:
        return json.dumps(config, sort_keys=True, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError) as err:
        raise fail("config", fn, "a JSON-serializable mapping (str keys, finite numbers)", config) from err


def _float_or_none(value: Any) -> float | None:
    """SQLite stores NaN as NULL; read it back as NaN (see :func:`_read_value`)."""
    value = float(value)
    return None if math.isnan(value) else value


def _read_value(value: Any) -> float:
    return math.nan if value is None else float(value)


class RunStore:
    """Runs and their measurements in one SQLite file.

    Parameters
    ----------
    path : str or Path
        The database file (created with its parent directories when missing).
    timeout : float
        Seconds to wait for a lock held by another process (several runs may share a file).

    Notes
    -----
    Use as a context manager or call :meth:`close`. A store object belongs to one thread.
    """

    def __init__(self, path: str | os.PathLike[str], *, timeout: float = 30.0):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        existing = self.path.is_file() and self.path.stat().st_size > 0
        self._db = None
        try:
            self._db = sqlite3.connect(self.path, timeout=timeout, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute("PRAGMA foreign_keys=ON")
            if existing:
                verdict = self._db.execute("PRAGMA quick_check").fetchone()[0]
                if verdict != "ok":
                    raise sqlite3.DatabaseError(verdict)
            with self._transaction():
                for statement in _SCHEMA.split(";"):
                    if statement.strip():
                        self._db.execute(statement)
                present = {row[1] for row in self._db.execute("PRAGMA table_info(measurements)")}
                for column, sql_type in _ADDED_COLUMNS:
                    if column not in present:
                        self._db.execute(f"ALTER TABLE measurements ADD COLUMN {column} {sql_type}")
        except BaseException as err:
            self.close()
            if isinstance(err, sqlite3.Error):
                _raise_store_error(self.path, err)
            raise

    # ------------------------------------------------------------------ plumbing
    def _transaction(self) -> _Transaction:
        return _Transaction(self._db, self.path)

    def close(self) -> None:
        """Close the connection (idempotent)."""
        if getattr(self, "_db", None) is not None:
            self._db.close()
            self._db = None  # type: ignore[assignment]

    def __enter__(self) -> RunStore:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"RunStore({str(self.path)!r})"

    def _require_run(self, run_id: str, fn: str) -> None:
        row = self._db.execute("SELECT 1 FROM runs WHERE run_id = ?", (run_id,)).fetchone()
        if row is None:
            raise fail("run_id", fn, "a run started with begin_run", run_id)

    # ------------------------------------------------------------------ runs
    def begin_run(self, run_id: str, config: Mapping[str, Any]) -> dict[str, Any]:
        """Start a run, or resume it when ``run_id`` exists with the same config.

        Returns the stored config (a plain dict decoded from JSON). A different config for an
        existing ``run_id`` raises :class:`InfoLensError` (start a new run id instead); configs
        are compared as canonical JSON (key order does not matter, tuples equal lists).
        """
        fn = "RunStore.begin_run"
        if not isinstance(run_id, str) or not run_id:
            raise fail("run_id", fn, "a non-empty str", run_id)
        if not isinstance(config, Mapping):
            raise fail("config", fn, "a mapping", config)
        text = _canonical(dict(config), fn)
        with self._transaction():
            row = self._db.execute("SELECT config_json FROM runs WHERE run_id = ?", (run_id,)).fetchone()
            if row is None:
                self._db.execute("INSERT INTO runs VALUES (?, ?, ?, 'running')",
                                 (run_id, text, time.time()))
                return json.loads(text)
            if row[0] != text:
                raise fail("config", fn, f"the config run {run_id!r} was started with ({row[0][:200]})",
                           got=text[:200])
            self._db.execute("UPDATE runs SET status = 'running' WHERE run_id = ?", (run_id,))
        return json.loads(row[0])

    def finish_run(self, run_id: str, status: str = "finished") -> None:
        """Mark a run ``"finished"`` (or ``"failed"``)."""
        fn = "RunStore.finish_run"
        if status not in STATUSES:
            raise fail("status", fn, "one of " + ", ".join(map(repr, STATUSES)), status)
        self._require_run(run_id, fn)
        with self._transaction():
            self._db.execute("UPDATE runs SET status = ? WHERE run_id = ?", (status, run_id))

    def runs(self) -> list[dict[str, Any]]:
        """``[{"run_id", "config", "created", "status"}]`` in creation order."""
        rows = self._db.execute("SELECT run_id, config_json, created, status FROM runs ORDER BY created")
        return [{"run_id": r[0], "config": json.loads(r[1]), "created": r[2], "status": r[3]}
                for r in rows]

    def config(self, run_id: str) -> dict[str, Any]:
        """The config a run was started with."""
        self._require_run(run_id, "RunStore.config")
        row = self._db.execute("SELECT config_json FROM runs WHERE run_id = ?", (run_id,)).fetchone()
        return json.loads(row[0])

    def status(self, run_id: str) -> str:
        self._require_run(run_id, "RunStore.status")
        return self._db.execute("SELECT status FROM runs WHERE run_id = ?", (run_id,)).fetchone()[0]

    # ------------------------------------------------------------------ epochs
    def record_epoch(self, run_id: str, epoch: int, measurements: Iterable[Mapping[str, Any]] = (),
                     metrics: Iterable[Mapping[str, Any]] = ()) -> None:
        """Write one epoch's measurements and metrics in one transaction.

        ``measurements`` are plane records (keys seed, activation, epoch, layer, quantity,
        estimator, value, units, and optionally ``flags`` and ``estimated_by``, see
        :meth:`infolens.InformationPlane.record`; a ``run`` key is ignored: rows go to
        ``run_id``); ``metrics`` have keys seed, activation, name, value (``epoch`` defaults to
        ``epoch``). A row whose identifying fields were recorded before replaces the old one, so
        re-recording an epoch after a resume never duplicates rows. Either all rows are written or none.
        """
        fn = "RunStore.record_epoch"
        epoch = check_int("epoch", epoch, fn, minimum=0)
        self._require_run(run_id, fn)
        m_rows = [self._row(m, _MEASUREMENT_FIELDS, epoch, f"measurements[{i}]", fn)
                  for i, m in enumerate(measurements)]
        k_rows = [self._row(m, _METRIC_FIELDS, epoch, f"metrics[{i}]", fn) for i, m in enumerate(metrics)]
        with self._transaction():
            self._db.executemany(
                "INSERT INTO measurements (run_id, " + ", ".join(_MEASUREMENT_FIELDS) + ") VALUES "
                "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT "
                "(run_id, seed, activation, epoch, layer, quantity, estimator) DO UPDATE SET "
                "value = excluded.value, units = excluded.units, flags = excluded.flags, "
                "estimated_by = excluded.estimated_by", [(run_id, *r) for r in m_rows])
            self._db.executemany(
                "INSERT INTO metrics VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT "
                "(run_id, seed, activation, epoch, name) DO UPDATE SET value = excluded.value",
                [(run_id, *r) for r in k_rows])
            self._db.execute("INSERT INTO epochs VALUES (?, ?, ?) ON CONFLICT (run_id, epoch) "
                             "DO UPDATE SET recorded = excluded.recorded", (run_id, epoch, time.time()))

    @staticmethod
    def _row(record: Mapping[str, Any], fields: tuple[str, ...], epoch: int, name: str,
             fn: str) -> tuple[Any, ...]:
        if not isinstance(record, Mapping):
            raise fail(name, fn, "a mapping", record)
        defaults = {"seed": 0, "activation": "", "epoch": epoch, "flags": "", "estimated_by": None}
        missing = [f for f in fields if f not in record and f not in defaults]
        if missing:
            raise fail(name, fn, "a mapping with keys " + ", ".join(fields),
                       got=f"a record without {', '.join(missing)}")
        out = []
        for field in fields:
            value = record.get(field, defaults.get(field))
            if field in ("seed", "epoch"):
                value = check_int(f"{name}[{field!r}]", value, fn, minimum=0)
                if field == "epoch" and value != epoch:
                    raise fail(f"{name}['epoch']", fn, f"the recorded epoch {epoch}", value)
            elif field == "value":
                if isinstance(value, bool) or not isinstance(value, numbers.Real):
                    raise fail(f"{name}['value']", fn, "a real number", value)
                value = _float_or_none(value)
            elif value is not None or field != "estimated_by":
                value = str(value)
            out.append(value)
        return tuple(out)

    def last_epoch(self, run_id: str, *, seed: int | None = None,
                   activation: str | None = None) -> int | None:
        """The highest epoch recorded for the run (or for one seed / activation), None if none.

        Without filters every :meth:`record_epoch` call counts, also one with no rows.
        """
        self._require_run(run_id, "RunStore.last_epoch")
        if seed is None and activation is None:
            row = self._db.execute("SELECT MAX(epoch) FROM epochs WHERE run_id = ?", (run_id,)).fetchone()
            return None if row[0] is None else int(row[0])
        where, args = self._filters(run_id, seed, activation)
        best = None
        for table in ("measurements", "metrics"):
            row = self._db.execute(f"SELECT MAX(epoch) FROM {table} WHERE {where}", args).fetchone()
            if row[0] is not None:
                best = int(row[0]) if best is None else max(best, int(row[0]))
        return best

    @staticmethod
    def _filters(run_id: str, seed: int | None, activation: str | None) -> tuple[str, list[Any]]:
        where, args = ["run_id = ?"], [run_id]
        if seed is not None:
            where.append("seed = ?")
            args.append(seed)
        if activation is not None:
            where.append("activation = ?")
            args.append(activation)
        return " AND ".join(where), args

    def recorded_epochs(self, run_id: str) -> list[int]:
        """Every epoch written with :meth:`record_epoch`, ascending."""
        self._require_run(run_id, "RunStore.recorded_epochs")
        rows = self._db.execute("SELECT epoch FROM epochs WHERE run_id = ? ORDER BY epoch", (run_id,))
        return [int(r[0]) for r in rows]

    def measurements(self, run_id: str) -> list[dict[str, Any]]:
        """The run's measurements as plane records (``run`` = ``run_id``), in recording order.

        ``PlaneResult(store.measurements(run_id))`` rebuilds the plane.
        """
        self._require_run(run_id, "RunStore.measurements")
        rows = self._db.execute(
            "SELECT seed, activation, epoch, layer, quantity, estimator, value, units, flags, "
            "estimated_by FROM measurements WHERE run_id = ? ORDER BY rowid", (run_id,))
        out = []
        for r in rows:
            record = {"run": run_id, "seed": r[0], "activation": r[1], "epoch": r[2], "layer": r[3],
                      "quantity": r[4], "estimator": r[5], "value": _read_value(r[6]), "units": r[7],
                      "flags": r[8]}
            if r[9] is not None:
                record["estimated_by"] = r[9]
            out.append(record)
        return out

    def metrics(self, run_id: str) -> list[dict[str, Any]]:
        """The run's metrics: ``[{"run", "seed", "activation", "epoch", "name", "value"}]``."""
        self._require_run(run_id, "RunStore.metrics")
        rows = self._db.execute("SELECT seed, activation, epoch, name, value FROM metrics "
                                "WHERE run_id = ? ORDER BY rowid", (run_id,))
        return [{"run": run_id, "seed": r[0], "activation": r[1], "epoch": r[2], "name": r[3],
                 "value": _read_value(r[4])} for r in rows]


class _Transaction:
    """``BEGIN IMMEDIATE`` ... ``COMMIT`` (``ROLLBACK`` on error) on an autocommit connection.

    A SQLite failure inside (a full disk, a read-only or corrupt file) rolls back, so the rows
    stored before stay as they were, and is raised as :func:`_translate` describes.
    """

    def __init__(self, db: sqlite3.Connection | None, path: Path):
        self._db = db
        self._path = path

    def __enter__(self) -> None:
        if self._db is None:
            raise InfoLensError("The RunStore is closed; open a new RunStore(path).")
        try:
            self._db.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as err:
            _raise_store_error(self._path, err)

    def __exit__(self, exc_type: Any, exc: BaseException | None, tb: Any) -> None:
        try:
            self._db.execute("ROLLBACK" if exc_type is not None else "COMMIT")
        except sqlite3.Error as err:
            if exc_type is None:
                _raise_store_error(self._path, err)
        if isinstance(exc, sqlite3.Error):
            _raise_store_error(self._path, exc)


def _translate(path: Path, err: sqlite3.Error) -> Exception:
    """The exception to raise for a SQLite failure on the store at ``path``, saying what to do.

    A full disk gives ``OSError(ENOSPC)``, another I/O failure ``OSError(EIO)``, a file that
    cannot be written ``PermissionError``, a corrupt or truncated file :class:`InfoLensError`;
    other failures are returned as they are. The file is never deleted or rewritten.
    """
    code = getattr(err, "sqlite_errorcode", None)  # Python >= 3.11; the message text otherwise
    text = str(err)
    if code == _SQLITE_FULL or "disk is full" in text:
        return OSError(errno.ENOSPC, "No space left on device (nothing stored before was lost)", str(path))
    if code == _SQLITE_IOERR or "disk I/O error" in text:
        return OSError(errno.EIO, f"{text} on the run store (nothing stored before was lost)", str(path))
    if code in _SQLITE_UNWRITABLE or "readonly" in text or "unable to open" in text:
        return PermissionError(errno.EACCES, f"cannot write the run store ({text})", str(path))
    if isinstance(err, sqlite3.DatabaseError) and not isinstance(err, sqlite3.OperationalError):
        return fail("path", "RunStore", f"an intact SQLite run store; {path} is corrupt or truncated "
                    f"({text}). It was left untouched: restore it from a copy, or start a new run in "
                    "another directory", got=repr(str(path)))
    return err


def _raise_store_error(path: Path, err: sqlite3.Error) -> NoReturn:
    translated = _translate(path, err)
    if translated is err:
        raise err
    raise translated from err


def save_checkpoint(path: str | os.PathLike[str], obj: Any) -> Path:
    """Write ``obj`` with :func:`torch.save` atomically: temp file, fsync, rename, fsync dir.

    A reader sees either the previous checkpoint or the new one, never a partial file.
    """
    import torch

    return atomic_write(path, lambda handle: torch.save(obj, handle))


def load_checkpoint(path: str | os.PathLike[str], *, map_location: Any = "cpu",
                    weights_only: bool = True) -> Any:
    """Load a checkpoint written by :func:`save_checkpoint`.

    ``weights_only=True`` (torch's safe loader) accepts tensors, dicts, lists, numbers and
    strings; pass False only for files you trust. A missing, truncated or corrupt file raises
    :class:`InfoLensError` (and is left as it is).
    """
    import torch

    target = Path(path)
    if not target.is_file():
        raise fail("path", "load_checkpoint", "an existing checkpoint file", str(path))
    try:
        return torch.load(target, map_location=map_location, weights_only=weights_only)
    except (RuntimeError, EOFError, ValueError, pickle.UnpicklingError) as err:
        reason = " ".join(str(err).split()).split(". ")[0][:120]  # its first sentence
        raise fail("path", "load_checkpoint", f"a complete checkpoint written by save_checkpoint; {target} "
                   f"is truncated or corrupt ({type(err).__name__}: {reason}). It was left untouched: "
                   "restore it, or start the run again in a new directory", got=repr(str(target))) from err


__all__ = ["RunStore", "load_checkpoint", "save_checkpoint"]
