"""Discord ids (snowflakes): the one check every way an id comes in goes through.

Discord ids are positive 64-bit integers; PostgreSQL stores them as ``bigint``. An id outside
that range cannot belong to any Discord user or server, so it is refused where it enters
(command line, import file) rather than failing deep inside a query.
"""

from __future__ import annotations

SNOWFLAKE_MAX = 2**63 - 1
_MAX_DIGITS = len(str(SNOWFLAKE_MAX))
_SHOWN_CHARS = 40


class InvalidSnowflakeError(ValueError):
    """The value is not a Discord id; the message says what was expected."""


def parse_snowflake(value: object) -> int:
    """``value`` (decimal digits, or an int) as a Discord id, else :class:`InvalidSnowflakeError`.

    Only ASCII digits are accepted (no sign, no spaces, no other scripts' digits).
    """
    number = 0
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, str) and value.isascii() and value.isdigit():
        # Compare lengths first: int() of a very long string is slow (and limited by Python).
        number = int(value) if len(value.lstrip("0")) <= _MAX_DIGITS else SNOWFLAKE_MAX + 1
    if not 0 < number <= SNOWFLAKE_MAX:
        raise InvalidSnowflakeError(
            f"must be a Discord id (a whole number from 1 to {SNOWFLAKE_MAX}), got {shown(value)}"
        )
    return number


def shown(value: object) -> str:
    """``repr(value)`` cut to a readable length for an error message."""
    text = repr(value)
    return text if len(text) <= _SHOWN_CHARS else text[: _SHOWN_CHARS - 1] + "…"
