"""Profile and taste-map charts: valid PNGs, the right chart for the data, loudness scaled."""

from __future__ import annotations

import struct

import pytest

from soundsync_core import charts

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def png_size(png: bytes) -> tuple[int, int]:
    assert png.startswith(PNG_MAGIC)
    width, height = struct.unpack(">II", png[16:24])
    return width, height


def test_audio_profile_chart_is_a_png() -> None:
    audio = {"acousticness": 0.2, "energy": 0.9, "loudness": -6.0}
    assert png_size(charts.audio_profile_chart("Bob", audio)) == (600, 320)


@pytest.mark.parametrize(
    ("name", "value", "unit"),
    [("loudness", -60.0, 0.0), ("loudness", 0.0, 1.0), ("loudness", -30.0, 0.5),
     ("loudness", -80.0, 0.0), ("energy", 0.7, 0.7), ("energy", 1.4, 1.0)],
)
def test_unit_feature_scales_loudness_and_clips(name: str, value: float, unit: float) -> None:
    assert charts.unit_feature(name, value) == pytest.approx(unit)


def test_profile_chart_prefers_audio_then_genres_then_artists() -> None:
    with_audio = charts.profile_chart("Bob", {"energy": 0.5}, [("jazz", 1.0)], ["Monk"])
    assert with_audio == charts.audio_profile_chart("Bob", {"energy": 0.5})
    with_genres = charts.profile_chart("Bob", None, [("jazz", 0.7), ("pop", 0.3)], ["Monk"])
    assert with_genres == charts.mix_chart("Bob", [("jazz", 0.7), ("pop", 0.3)])
    artists_only = charts.profile_chart("Bob", None, [], ["Monk", "Davis"])
    assert artists_only == charts.mix_chart("Bob", [("Monk", 2 / 3), ("Davis", 1 / 3)])


def test_mix_chart_without_data_still_renders() -> None:
    png_size(charts.mix_chart("Nobody", []))


def test_taste_map_has_one_colour_per_tribe() -> None:
    points = [(0.0, 0.0, 0), (1.0, 1.0, 0), (-1.0, 0.5, 1), (0.3, -0.8, 2)]
    png = charts.taste_map_chart("Club", points, {0: "Jazz heads", 1: "Metal", 2: "Pop"})
    assert png_size(png) == (650, 500)
    empty = charts.taste_map_chart("Club", [], {})
    assert png_size(empty) == (650, 500)
    assert empty != png
