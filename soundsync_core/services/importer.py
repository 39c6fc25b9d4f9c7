"""``import-profiles``: load a DESIGN §9 JSONL file into the database."""

from __future__ import annotations

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
    lines: Iterable[str],
    *,
    on_rejected: Callable[[int, str], None] | None = None,
    on_progress: Callable[[int], None] | None = None,
) -> ImportReport:
    """Upsert every valid line; report bad lines (1-based number, reason) and keep going.

    Good lines are written in batches, each in its own transaction, so a crash loses at most the
    batch in flight and a re-run (upsert) completes the job.
    """
    report = ImportReport()
    batch: dict[int, TasteProfile] = {}
    for number, line in enumerate(lines, 1):
        if not line.strip():
            report.blank += 1
            continue
        try:
            profile = parse_profile_line(line)
        except ProfileFormatError as exc:
            report.rejected.append((number, str(exc)))
            if on_rejected is not None:
                on_rejected(number, str(exc))
            continue
        if profile.user_id in batch:
            report.superseded += 1
        batch[profile.user_id] = profile
        if len(batch) >= BATCH_SIZE:
            await _flush(pool, batch, report, on_progress)
    await _flush(pool, batch, report, on_progress)
    return report


async def _flush(
    pool: asyncpg.Pool,
    batch: dict[int, TasteProfile],
    report: ImportReport,
    on_progress: Callable[[int], None] | None,
) -> None:
    if not batch:
        return
    async with pool.acquire() as conn:
        await save_profiles(conn, list(batch.values()), source="import")
    report.imported += len(batch)
    if on_progress is not None:
        on_progress(len(batch))
    batch.clear()
