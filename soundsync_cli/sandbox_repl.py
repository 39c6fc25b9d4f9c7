"""``soundsync sandbox``: the sandbox with a terminal, where a person acts as any member.

The loop reads lines from standard input (a terminal, a pipe or a file) without a thread and
without blocking the event loop, hands each to :class:`SandboxTerminal` and prints the answer,
until ``quit``, end of input or Ctrl-C.
"""

from __future__ import annotations

import asyncio
import codecs
import contextlib
import os
import sys
from collections.abc import Awaitable, Callable
from typing import TextIO

from soundsync_cli.runtime import stop_on_signals
from soundsync_cli.sandbox import run_sandbox
from soundsync_cli.sandbox_terminal import SandboxTerminal
from soundsync_core.settings import Settings

GREETING = "You are {name}. Try /matches, then press a button by its number; help lists the rest."
ReadLine = Callable[[str], Awaitable[str | None]]


class LineReader:
    """Lines from a file descriptor, read when the event loop says it is readable.

    No thread: quitting (or Ctrl-C) never waits for a line that will not come. Lines that do
    not come from a terminal are echoed after the prompt, so a piped script reads like a session.
    """

    def __init__(self, stream: TextIO, write: Callable[[str], None]) -> None:
        self._fd = stream.fileno()
        self._echo = not stream.isatty()
        self._write = write
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._buffer = ""
        self._ended = False

    async def __call__(self, prompt: str) -> str | None:
        """The next line (without its newline), or None at the end of input."""
        self._write(prompt)
        while "\n" not in self._buffer and not self._ended:
            await self._readable()
            chunk = os.read(self._fd, 4096)
            self._ended = not chunk
            self._buffer += self._decoder.decode(chunk, final=self._ended)
        if not self._buffer:
            self._write("\n")
            return None
        line, _, self._buffer = self._buffer.partition("\n")
        if self._echo:
            self._write(line + "\n")
        return line

    async def _readable(self) -> None:
        loop = asyncio.get_running_loop()
        ready = loop.create_future()
        try:
            loop.add_reader(self._fd, lambda: ready.done() or ready.set_result(None))
        except PermissionError:
            return  # a regular file (stdin redirected from one) is always readable
        try:
            await ready
        finally:
            loop.remove_reader(self._fd)


async def run_terminal(
    terminal: SandboxTerminal, read: ReadLine, write: Callable[[str], None],
    stop: asyncio.Event | None = None,
) -> None:
    """Read, act, print until ``quit``, the end of input or ``stop``."""
    write(GREETING.format(name=terminal.member.username) + "\n")
    while not terminal.done:
        line = await _unless_stopped(read(terminal.prompt), stop)
        if line is None:
            return
        answer = await terminal.run(line)
        if answer:
            write(answer + "\n")


async def _unless_stopped(reading: Awaitable[str | None], stop: asyncio.Event | None) -> str | None:
    line = asyncio.ensure_future(reading)
    if stop is None:
        return await line
    stopped = asyncio.ensure_future(stop.wait())
    done, _ = await asyncio.wait({line, stopped}, return_when=asyncio.FIRST_COMPLETED)
    for task in (line, stopped):
        if task not in done:
            task.cancel()
    return line.result() if line in done else None


def _write(text: str) -> None:
    sys.stdout.write(text)
    sys.stdout.flush()


async def play_sandbox(settings: Settings, server: str, *, tour: bool, terminal: bool) -> None:
    """Run the sandbox (after the tour, when asked) with the terminal, or until Ctrl-C."""
    stop = asyncio.Event()
    with stop_on_signals(stop):
        sandbox = run_sandbox(settings, server, tour=tour)
        async with contextlib.aclosing(sandbox):
            async for running in sandbox:
                if terminal:
                    await run_terminal(SandboxTerminal(running), LineReader(sys.stdin, _write), _write, stop)
                else:
                    await stop.wait()
                break
