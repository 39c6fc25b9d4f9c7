"""``import-profiles``: load a profile JSONL file (docs/import-format.md) into the database."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import asyncpg

from soundsync_core.profiles.jsonl import ProfileFormatError, parse_profile_line
from soundsync_core.repositories.profiles import save_profiles
from soundsync_core.sources.base import FileSource
from soundsync_core.taste.profile import TasteProfile

BATCH_SIZE = 2000
# Profiles an operator imports from a file (the CLI): a source like any other, never fetched.
PROFILE_IMPORT = FileSource("import", "Profile import")
# What the database (or asyncpg encoding a value for it) raises for a row it will not store:
# data exceptions (class 22: out of range, bad text …), integrity violations (23), values too
# big for an index (54). Anything else (lost connection, missing table) is no fault of a line.
DATABASE_REFUSALS = (
    asyncpg.DataError,
    asyncpg.IntegrityConstraintViolationError,
    asyncpg.ProgramLimitExceededError,
    OverflowError,
    ValueError,
)
log = logging.getLogger(__name__)


@dataclass
class ImportReport:
    """What an import did: counts, and every rejected line with its reason."""

    imported: int = 0
    rejected: list[tuple[int, str]] = field(default_factory=list)
    superseded: int = 0
    blank: int = 0

    def summary(self) -> str:
        parts = [f"imported {self.imported} profile(s)", f"rejected {len(self.rejected)} line(s)"]
        if self.superseded:
            parts.append(f"{self.superseded} earlier line(s) replaced by a later line "
                         "for the same user")
        return ", ".join(parts)


async def import_profiles(
    pool: asyncpg.Pool,
    lines: Iterable[str | bytes],
    *,
    on_rejected: Callable[[int, str], None] | None = None,
    on_progress: Callable[[int], None] | None = None,
) -> ImportReport:
    """Upsert every valid line; report bad lines (1-based number, reason) and keep going.

    Every line is judged on its own: it is fully checked before its batch is written, and
    should the database still refuse a batch, its lines are written one at a time so only the
    line at fault is lost (and reported). Good lines are written in batches, each in its own
    transaction, so a crash loses at most the batch in flight and a re-run (upsert) completes
    the job. ``report.rejected`` is in line order.
    """
    report = ImportReport()
    batch = _Batch(pool, report, on_rejected, on_progress)
    for number, line in enumerate(lines, 1):
        if not line.strip():
            report.blank += 1
            continue
        try:
            profile = parse_profile_line(line)
        except ProfileFormatError as exc:
            batch.reject(number, str(exc))
            continue
        if profile.user_id in batch.lines:
            report.superseded += 1
        batch.lines[profile.user_id] = (number, profile)
        if len(batch.lines) >= BATCH_SIZE:
            await batch.flush()
    await batch.flush()
    report.rejected.sort()
    return report


class _Batch:
    """Lines waiting to be written, by member (a later line for a member replaces an earlier)."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        report: ImportReport,
        on_rejected: Callable[[int, str], None] | None,
        on_progress: Callable[[int], None] | None,
    ) -> None:
        self.pool = pool
        self.report = report
        self.on_rejected = on_rejected
        self.on_progress = on_progress
        self.lines: dict[int, tuple[int, TasteProfile]] = {}

    def reject(self, number: int, reason: str) -> None:
        self.report.rejected.append((number, reason))
        if self.on_rejected is not None:
            self.on_rejected(number, reason)

    async def flush(self) -> None:
        if not self.lines:
            return
        entries = list(self.lines.values())
        self.lines.clear()
        try:
            await self._save([profile for _, profile in entries])
            stored = len(entries)
        except DATABASE_REFUSALS as exc:
            log.warning("the database refused a batch of %d profiles (%s); writing them one by one",
                        len(entries), _reason(exc))
            stored = await self._save_one_by_one(entries)
        self.report.imported += stored
        if self.on_progress is not None:
            self.on_progress(stored)

    async def _save_one_by_one(self, entries: list[tuple[int, TasteProfile]]) -> int:
        stored = 0
        for number, profile in entries:
            try:
                await self._save([profile])
            except DATABASE_REFUSALS as exc:
                self.reject(number, f"the database refused it: {_reason(exc)}")
            else:
                stored += 1
        return stored

    async def _save(self, profiles: list[TasteProfile]) -> None:
        async with self.pool.acquire() as conn:
            await save_profiles(conn, profiles, source="import")


def _reason(exc: BaseException) -> str:
    first_line = str(exc).strip().split("\n")[0]
    return (first_line or type(exc).__name__)[:200]
