"""Ids the bot reads back from text (a say-hi button's custom id) go through the snowflake check."""

from __future__ import annotations

import re

import pytest

from bot.views import HI_ANSWER_TEMPLATE, HiAnswerButton
from soundsync_core.snowflakes import InvalidSnowflakeError


async def test_a_say_hi_button_carries_a_valid_member_id_back() -> None:
    match = re.fullmatch(HI_ANSWER_TEMPLATE, "hi:accept:42")
    assert match is not None
    button = await HiAnswerButton.from_custom_id(None, None, match)  # type: ignore[arg-type]
    assert (button.answer, button.from_user) == ("accept", 42)


@pytest.mark.parametrize("digits", ["0", str(2**63), "9" * 400])
async def test_a_say_hi_button_with_an_impossible_id_is_refused(digits: str) -> None:
    match = re.fullmatch(HI_ANSWER_TEMPLATE, f"hi:decline:{digits}")
    assert match is not None
    with pytest.raises(InvalidSnowflakeError):
        await HiAnswerButton.from_custom_id(None, None, match)  # type: ignore[arg-type]
