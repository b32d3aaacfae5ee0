"""Checksums and completion records of the blocks of a zarr node that many writers fill (stores and dreamed ensembles).

A configuration store (:mod:`dreamrg.store`) and a dreamed ensemble
(:mod:`dreamrg.dream`) grow by *blocks* of rows: block ``j`` is rows ``j*B`` to
``j*B + rows`` of every array of the node (``B`` = chunk size of a store, batch
size of an ensemble), and each array keeps a block in exactly one zarr chunk file.

Completion records
------------------
After the chunk files of block ``j`` are written, a record ``commits/<j>.json``
is written beside them in one atomic rename::

    {"block": j, "start": j*B, "rows": n, "crc32": {"<array name>": crc, ...}, "meta": "<digest>"}

``crc32`` is zlib's CRC-32 of the block's rows of each array as numpy holds them
(C order, little-endian; the packed bytes for spins), so it does not depend on
the compressor. ``meta`` is a digest of the node's identity metadata at the time
of writing: metadata edited afterwards no longer match their records.

A block without a record does not exist for readers. The committed ``count`` is
the longest finished prefix: blocks ``0, 1, …`` that have records, each full but
possibly the last. Blocks beyond a gap are kept and count as soon as the gap is filled.

Commit protocol (many processes, many machines, no locks)
---------------------------------------------------------
Blocks may be committed in any order by independent processes on any machines
sharing the directory (NFS, Lustre). Correctness rests on three facts, never on
``flock`` (which such filesystems do not honour reliably):

1. *Nothing shared is rewritten.* The arrays are created with :data:`ROWS`
   rows (the most a node may hold), so writers never resize them: ``zarr.json``
   is written only by the run's coordinator (at creation, and to cache
   ``count`` in the attributes, a lower bound of the recorded prefix), and zarr
   never deletes chunk files. (Nodes created with a shape that ends at their
   count are grown to :data:`ROWS` once, by the next coordinator that opens them.)
2. *The same data give the same bytes.* A block's chunk file is always written
   whole, rows beyond ``rows`` zero-filled, and its record holds only the
   data's CRCs, its position and the metadata digest. Writers of one block
   (a retried task, a duplicated worker, a resumed run) compute the same data
   from the same seeds, so they write identical files, each through a
   temporary file and a rename; whichever rename lands last leaves the same
   content.
3. *The record is the commit point.* The chunk files are written and
   ``fsync``-ed before the record; the record is written to a temporary file
   with a name unique across machines, ``fsync``-ed and renamed into place
   (atomic on POSIX and NFS). A process killed at any moment leaves either no
   record (the block is recomputed; a chunk file without a record is ignored
   and later overwritten) or a complete one. Before writing, a writer re-reads
   record ``j`` from disk: the same rows with the same CRCs mean the block is
   done and nothing is written; a longer block whose first rows reproduce the
   recorded ones extends it (a trailing partial block); anything else is
   refused, so recorded rows are never shrunk nor replaced by other data.

What is not covered: two runs asking for *different* numbers of rows that
extend the same trailing partial block at the same moment on two machines can
leave one run's chunk file under the other's record. Reads then find the CRC
mismatch and refuse the block (never silently wrong data); on one machine the
writer lock of :mod:`dreamrg.store` keeps such runs apart.

Every read checks that the chunk files of the blocks it touches exist, decodes
them and compares the CRC of every block with its record; a missing, truncated
or altered chunk is a :class:`Problem`, which the store or ensemble raises as its
own error naming the file and the rows affected. Nothing here reads zarr's fill
value as data. What stores and ensembles share beyond the blocks -- the open
modes, the cross-check of the records on opening, the refusal, the report of
``dreamrg verify``, the committed count in ``zarr.json`` -- is here too: a
:class:`Node` holds the words and errors of each kind.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import uuid
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

#: what new stores and ensembles record in their attributes under "integrity"
FORMAT: dict[str, Any] = {"format": 2, "checksum": "crc32", "records": "commits"}
RECORDS = "commits"
#: rows every array of a node is created with (2**40; dreamrg.store.MAX_COUNT): writers never resize
ROWS = 2**40


def crc32(data: np.ndarray) -> int:
    """CRC-32 of an array's bytes in C order, little-endian."""
    a = np.ascontiguousarray(data)
    if a.dtype.byteorder == ">":
        a = a.astype(a.dtype.newbyteorder("<"))
    return zlib.crc32(memoryview(a).cast("B"))


def digest(meta: dict[str, Any]) -> str:
    """Short digest of identity metadata (key order does not matter)."""
    return hashlib.sha256(json.dumps(meta, sort_keys=True, default=str).encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Record:
    """The completion record of one block."""

    block: int
    start: int
    rows: int
    crc32: dict[str, int]
    meta: str

    def to_dict(self) -> dict[str, Any]:
        return {"block": self.block, "start": self.start, "rows": self.rows, "crc32": dict(self.crc32),
                "meta": self.meta}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Record:
        crc = d["crc32"]
        if not isinstance(crc, dict) or not all(isinstance(v, int) for v in crc.values()):
            raise ValueError("crc32 must map array names to integers")
        return cls(int(d["block"]), int(d["start"]), int(d["rows"]), {str(k): int(v) for k, v in crc.items()},
                   str(d["meta"]))


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a store or ensemble: which file, which rows, what."""

    file: str
    start: int
    stop: int
    kind: str  # missing | damaged | checksum | record | metadata | format
    detail: str

    def message(self, unit: str = "configurations") -> str:
        rows = f"; {unit} {self.start}..{self.stop - 1} affected" if self.stop > self.start else ""
        return f"{self.file}: {self.detail}{rows}"

    def to_dict(self, unit: str = "configurations") -> dict[str, Any]:
        return {"file": self.file, "kind": self.kind, "start": self.start, "stop": self.stop,
                "message": self.message(unit)}


@dataclass(frozen=True)
class Report:
    """What ``dreamrg verify`` found in one store or ensemble."""

    path: str
    kind: str  # "store" | "ensemble"
    unit: str  # "configurations" | "chains"
    count: int  # committed rows
    blocks: int  # recorded blocks (chunks of a store, batches of an ensemble)
    problems: list[Problem]

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "kind": self.kind, "count": self.count, "blocks": self.blocks, "ok": self.ok,
                "problems": [p.to_dict(self.unit) for p in self.problems]}


@dataclass(frozen=True)
class Node:
    """A kind of node (a store, an ensemble): the words its messages use and the errors it raises."""

    name: str  # "store" | "ensemble"
    unit: str  # what a row is: "configurations" | "chains"
    block: str  # what a block is: "chunk" | "batch"
    blocks: str  # its plural: "chunks" | "batches"
    error: type  # a path or metadata it cannot use
    chunk_error: type  # damaged data; takes (message, problems)

    def damaged(self, problem: Problem) -> Exception:
        """The node's error for a damaged block found while reading or writing (raise it ``from None``)."""
        return self.chunk_error(f"damaged {self.name}: {problem.message(self.unit)}", [problem])

    def refuse(self, path, problems: list[Problem]) -> None:
        """Raise one clear error for the first problem found on opening (nothing when there is none).

        A problem of kind ``"format"`` (metadata that do not match the arrays) raises :attr:`error`;
        a damaged chunk raises :attr:`chunk_error` naming its file and rows, and how many more problems exist.
        """
        if not problems:
            return
        p = problems[0]
        if p.kind == "format":
            raise self.error(p.detail)
        more = f" (and {len(problems) - 1} more problems; see 'dreamrg verify {path}')" if len(problems) > 1 else ""
        raise self.chunk_error(f"damaged {self.name}: {p.message(self.unit)}{more}", problems)

    def report(self, path, blocks: "Blocks | None", problems: list[Problem]) -> Report:
        """The :class:`Report` of a node: the problems found on opening, then every chunk checked."""
        if blocks is not None:
            seen = {(p.file, p.kind) for p in problems}
            problems = problems + [p for p in blocks.verify() if (p.file, p.kind) not in seen]
        return Report(str(path), self.name, self.unit, blocks.count if blocks else 0,
                      len(blocks.records) if blocks else 0, problems)

    def check_records(self, blocks: "Blocks", said: Any, meta_file: str) -> list[Problem]:
        """Read every record of ``blocks`` and cross-check them with the node (problems returned, not raised).

        ``said`` is ``count`` as the node's attributes (``meta_file``) hold it: it must not exceed the
        recorded prefix; every array must reach the recorded rows; every recorded block's chunk files
        must exist (beyond a gap too).
        """
        blocks.load()
        problems = list(blocks.problems)
        count = blocks.count
        if not isinstance(said, int) or said > count:
            j = count // blocks.block
            problems.append(Problem(meta_file, count, said if isinstance(said, int) else count, "record",
                                    f"zarr.json says count={said!r}, but only {count} {self.unit} have completion "
                                    f"records ({self.block} {j}: no record at {blocks.record_path(j)})"))
        short = [(name, a.shape[0]) for name, a in blocks.arrays.items() if a.shape[0] < count]
        if short:
            name, end = short[0]
            array = f"array '{name}'" if blocks.nested else "the array's shape"
            problems.append(Problem(meta_file, end, count, "metadata",
                                    f"{array} ends at {end} {self.unit}, but {self.blocks} up to {count} are recorded"))
        else:
            problems += blocks.missing_files(sorted(blocks.records))
        return problems


#: how a node may be opened: read; by a run's coordinator (it writes ``zarr.json``); by a worker (blocks and records)
MODES = ("r", "r+", "chunks")


def check_mode(mode: str) -> None:
    """ValueError unless ``mode`` is one of :data:`MODES`."""
    if mode not in MODES:
        raise ValueError(f"mode must be 'r', 'r+' or 'chunks'; got {mode!r}")


def coordinate(attrs, blocks: "Blocks") -> None:
    """What a coordinator's open (mode ``"r+"``) does first: grow the arrays to :data:`ROWS` rows (nodes created
    before they were made that long) and catch up ``count`` (a run killed between a record and the count)."""
    blocks.reserve()
    sync_count(attrs, blocks)


def sync_count(attrs, blocks: "Blocks") -> int:
    """Write the committed count of ``blocks`` into the node's attributes if they say otherwise (coordinator only)."""
    count = blocks.count
    if attrs.get("count") != count:
        attrs.update({"count": count})
    return count


def _fsync(path: Path) -> None:
    """Flush a file's data to stable storage (the chunk files before their record)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` in one rename: a temporary file named uniquely across machines, fsync-ed first."""
    tmp = path.with_name(f".{path.name}.{socket.gethostname()}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


class _BadRecord(Exception):
    def __init__(self, problem: Problem):
        super().__init__(problem.detail)
        self.problem = problem


class Damaged(Exception):
    """Raised by :class:`Blocks` reads; the store or ensemble turns it into its own error."""

    def __init__(self, problem: Problem):
        super().__init__(problem.detail)
        self.problem = problem


@dataclass
class Blocks:
    """The blocks of the arrays ``arrays`` (name -> zarr array) of the node at ``root``."""

    root: Path
    block: int
    arrays: dict[str, Any]
    meta: str  # digest of the identity metadata now
    nested: bool = True  # arrays in sub-directories named after them (an ensemble), else the node itself (a store)
    records: dict[int, Record] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    _cache: tuple | None = None

    # -- records ------------------------------------------------------------------
    def record_path(self, j: int) -> Path:
        return self.root / RECORDS / f"{j}.json"

    def load(self) -> None:
        """Read every completion record; problems with them go to :attr:`problems`."""
        self.records, self.problems = {}, []
        folder = self.root / RECORDS
        names = os.listdir(folder) if folder.is_dir() else []
        edited: list[Record] = []
        for name in names:
            stem, _, ext = name.partition(".")
            if ext != "json" or not stem.isdigit():
                continue  # temporary files of an interrupted record write
            j = int(stem)
            try:
                rec = self._parse(j)
            except _BadRecord as bad:
                self.problems.append(bad.problem)
                continue
            if rec is None:
                continue  # removed since it was listed
            if rec.meta != self.meta:
                edited.append(rec)  # the data may be intact; the metadata no longer describe them
            self.records[j] = rec
        if edited:
            self.problems.append(Problem(
                str(self.root / "zarr.json"), min(r.start for r in edited), max(r.start + r.rows for r in edited),
                "metadata", f"the metadata (zarr.json attributes) were changed after {len(edited)} of the "
                f"{len(self.records)} recorded blocks were written; they no longer describe the data"))

    def _parse(self, j: int) -> Record | None:
        """Record ``j`` as it is on disk now (None if there is none); a bad one raises :class:`_BadRecord`."""
        path = self.record_path(j)
        try:
            text = path.read_text()
        except FileNotFoundError:
            return None
        try:
            rec = Record.from_dict(json.loads(text))
        except (OSError, ValueError, KeyError, TypeError) as err:
            raise _BadRecord(Problem(str(path), j * self.block, (j + 1) * self.block, "record",
                                     f"unreadable completion record ({err})")) from None
        detail = None
        if rec.block != j or rec.start != j * self.block or not 0 < rec.rows <= self.block:
            detail = (f"completion record says block {rec.block}, rows {rec.start}+{rec.rows}; "
                      f"block {j} of {self.block} rows expected")
        elif set(rec.crc32) != set(self.arrays):
            detail = f"completion record covers arrays {sorted(rec.crc32)}, the node has {sorted(self.arrays)}"
        if detail:
            raise _BadRecord(Problem(str(path), j * self.block, (j + 1) * self.block, "record", detail))
        return rec

    def refresh(self, j: int) -> Record | None:
        """Re-read record ``j`` from disk (another process may have written it) into :attr:`records`.

        Raises :class:`Damaged` for an unreadable record or one written under other metadata.
        """
        try:
            rec = self._parse(j)
        except _BadRecord as bad:
            raise Damaged(bad.problem) from None
        if rec is None:
            self.records.pop(j, None)
        else:
            if rec.meta != self.meta:
                raise Damaged(Problem(str(self.record_path(j)), rec.start, rec.start + rec.rows, "metadata",
                                      f"block {j} was recorded under other metadata (zarr.json attributes changed "
                                      "since, or another run's data)"))
            self.records[j] = rec
        self._cache = None
        return rec

    def missing(self, n: int) -> list[int]:
        """Blocks that rows ``0:n`` need and that are not recorded with all their rows (as known now)."""
        out = []
        for j in range(-(-n // self.block)):
            rows = min(self.block, n - j * self.block)
            rec = self.records.get(j)
            if rec is None or rec.rows < rows:
                out.append(j)
        return out

    @property
    def count(self) -> int:
        """Rows in the longest finished prefix of blocks."""
        n, j = 0, 0
        while j in self.records:
            rec = self.records[j]
            n += rec.rows
            if rec.rows < self.block:
                break
            j += 1
        return n

    def chunk_file(self, name: str, j: int) -> Path:
        array = self.arrays[name]
        return self.array_dir(name) / array.metadata.encode_chunk_key((j,) + (0,) * (array.ndim - 1))

    def array_dir(self, name: str) -> Path:
        return self.root / name if self.nested else self.root

    def missing_files(self, blocks: list[int], names: tuple[str, ...] | None = None) -> list[Problem]:
        """Chunk files of recorded blocks that are not there (a stat each)."""
        out = []
        for j in blocks:
            rec = self.records[j]
            for name in names if names is not None else tuple(self.arrays):
                f = self.chunk_file(name, j)
                if not f.is_file():
                    out.append(Problem(str(f), rec.start, rec.start + rec.rows, "missing",
                                       f"chunk file missing (block {j} of '{name}')"))
        return out

    # -- writing ------------------------------------------------------------------
    def commit(self, j: int, parts: dict[str, np.ndarray], what: str) -> bool:
        """Write block ``j`` of every array, then its completion record (see "Commit protocol").

        Any block may be committed, in any order. Record ``j`` is re-read from disk
        first: when it already holds these rows (same CRCs) nothing is written and
        False is returned; a longer block whose first rows reproduce the recorded
        ones replaces it; fewer rows, or other data, raise :class:`ValueError`.
        Returns True when the block was written.
        """
        rows = len(next(iter(parts.values())))
        if any(len(data) != rows for data in parts.values()):
            raise ValueError(f"{what} {j}: the arrays hold different numbers of rows")
        if not 0 < rows <= self.block:
            raise ValueError(f"a {what} holds 1..{self.block} rows; got {rows}")
        if not 0 <= j < ROWS // self.block:
            raise ValueError(f"{what} index {j} outside 0..{ROWS // self.block - 1}")
        crcs = {name: crc32(data) for name, data in parts.items()}
        old = self.refresh(j)
        if old is not None:
            if rows < old.rows:
                raise ValueError(f"{what} {j} holds {old.rows} rows; rewriting it with {rows} would drop some")
            if rows == old.rows and crcs == old.crc32:
                return False  # written already (by us earlier, or by another writer): the same bytes
            for name, data in parts.items():
                if crc32(data[:old.rows]) != old.crc32[name]:
                    raise ValueError(f"{what} {j}: the new rows differ from the {old.rows} already recorded")
        start = j * self.block
        for name, data in parts.items():
            array = self.arrays[name]
            if array.shape[0] < start + self.block:
                raise ValueError(f"{what} {j}: the array {self.array_dir(name)} ends at row {array.shape[0]}; "
                                 "it must be opened for appending by the run's coordinator first")
            whole = np.zeros((self.block,) + data.shape[1:], dtype=data.dtype)
            whole[:rows] = data  # the whole chunk: its bytes depend on the data alone
            array[start:start + self.block] = whole
            _fsync(self.chunk_file(name, j))
        rec = Record(j, start, rows, crcs, self.meta)
        path = self.record_path(j)
        path.parent.mkdir(exist_ok=True)
        write_atomic(path, json.dumps(rec.to_dict()).encode())
        self.records[j] = rec
        self._cache = None
        return True

    def reserve(self) -> None:
        """Grow every array to :data:`ROWS` rows (nodes created before the arrays were made that long).

        Only the run's coordinator calls this (it rewrites ``zarr.json``); growing deletes nothing.
        """
        for name, array in self.arrays.items():
            if array.shape[0] < ROWS:
                array.resize((ROWS,) + array.shape[1:])

    # -- reading ------------------------------------------------------------------
    def read(self, names: tuple[str, ...], start: int, stop: int) -> dict[str, np.ndarray]:
        """Rows ``start:stop`` (within the count) of the arrays ``names``, every block touched verified.

        Raises :class:`Damaged` for the first missing, undecodable or altered chunk.
        """
        if stop <= start:
            return {name: np.asarray(self.arrays[name][start:start]) for name in names}
        B = self.block
        j0, j1 = start // B, (stop - 1) // B
        lo, hi = j0 * B, j1 * B + self.records[j1].rows
        cache = self._cache
        if cache is not None and cache[0] == names and cache[1] <= start and stop <= cache[2]:
            _, clo, _, bufs = cache
            return {name: bufs[name][start - clo:stop - clo] for name in names}
        blocks = list(range(j0, j1 + 1))
        missing = self.missing_files(blocks, names)
        if missing:
            raise Damaged(missing[0])
        bufs = {}
        for name in names:
            try:
                bufs[name] = np.asarray(self.arrays[name][lo:hi])
            except Exception:  # noqa: BLE001 - a damaged chunk; find which, block by block
                for j in blocks:
                    self._read_block(name, j)
                raise
            for j in blocks:
                rec = self.records[j]
                part = bufs[name][rec.start - lo:rec.start - lo + rec.rows]
                if crc32(part) != rec.crc32[name]:
                    raise Damaged(Problem(str(self.chunk_file(name, j)), rec.start, rec.start + rec.rows,
                                          "checksum", f"chunk altered: its checksum differs from the one recorded "
                                          f"when it was written (block {j} of '{name}')"))
        self._cache = (names, lo, hi, bufs)
        return {name: bufs[name][start - lo:stop - lo] for name in names}

    def _read_block(self, name: str, j: int) -> np.ndarray:
        rec = self.records[j]
        f = self.chunk_file(name, j)
        if rec.start + rec.rows > self.arrays[name].shape[0]:
            raise Damaged(Problem(str(self.array_dir(name) / "zarr.json"), rec.start, rec.start + rec.rows, "metadata",
                                  f"the array's shape ends at row {self.arrays[name].shape[0]}, before the end of "
                                  f"recorded block {j}"))
        if not f.is_file():
            raise Damaged(Problem(str(f), rec.start, rec.start + rec.rows, "missing",
                                  f"chunk file missing (block {j} of '{name}')"))
        try:
            data = np.asarray(self.arrays[name][rec.start:rec.start + rec.rows])
        except Exception as err:  # noqa: BLE001 - zarr/numcodecs raise various types for a bad chunk
            raise Damaged(Problem(str(f), rec.start, rec.start + rec.rows, "damaged",
                                  f"chunk truncated or corrupt: cannot be decoded "
                                  f"({type(err).__name__}: {err})")) from None
        if crc32(data) != rec.crc32[name]:
            raise Damaged(Problem(str(f), rec.start, rec.start + rec.rows, "checksum",
                                  f"chunk altered: its checksum differs from the one recorded when it was "
                                  f"written (block {j} of '{name}')"))
        return data

    def verify(self) -> list[Problem]:
        """Every problem of every recorded block (each chunk decoded once), plus those of the records."""
        problems = list(self.problems)
        for j in sorted(self.records):
            for name in self.arrays:
                try:
                    self._read_block(name, j)
                except Damaged as d:
                    problems.append(d.problem)
        return problems
