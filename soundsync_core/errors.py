"""The one base class of every error a member may be shown."""

from __future__ import annotations


class MemberFacingError(Exception):
    """A refusal worded for members: ``member_message`` has no ids and no ``soundsync …`` commands.

    ``str(exc)`` — also ``detail`` — is the operator's line for logs and the CLI, which may name
    ids and commands; without a separate ``detail`` it is the member message itself.
    """

    def __init__(self, member_message: str, *, detail: str | None = None) -> None:
        self.member_message = member_message
        self.detail = detail or member_message
        super().__init__(self.detail)
