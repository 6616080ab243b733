"""PriceTable: the most specific row prices usage in its own unit, a table is checked whole when it is built, and
what it cannot price is None, never a guess."""

import pytest

from voice_monitoring.exporter.events import USAGE_UNITS
from voice_monitoring.exporter.pricing import PRICED_AS, PriceTable, PriceTableError

TABLE = {
    "stt": {"acme": {"minutes": 0.6}, "acme/fast": {"minutes": 0.3}},
    "llm": {"acme": {"tokens_in": 2.0, "tokens_out": 4.0}, "default": {"tokens_in": 1.0}},
    "tts": {"acme": {"characters": 0.5}},
}


@pytest.mark.parametrize(
    "unit, quantity, dollars",
    [("audio_seconds", 90, 0.9), ("minutes", 1.5, 0.9)],
)
def test_audio_seconds_and_minutes_are_both_priced_per_minute(unit, quantity, dollars):
    assert PriceTable(TABLE).price("stt", "acme", None, unit, quantity) == pytest.approx(dollars)


def test_tokens_and_characters_are_priced_per_thousand():
    prices = PriceTable(TABLE)
    assert prices.price("llm", "acme", None, "tokens_out", 500) == pytest.approx(2.0)
    assert prices.price("tts", "acme", None, "characters", 2000) == pytest.approx(1.0)


def test_a_models_row_wins_over_its_providers_and_an_unlisted_model_is_priced_as_its_provider():
    prices = PriceTable(TABLE)
    assert prices.unit_price("stt", "acme", "fast", "minutes") == pytest.approx(0.3)
    assert prices.unit_price("stt", "acme", "slow", "minutes") == pytest.approx(0.6)
    assert prices.unit_price("stt", "acme", None, "minutes") == pytest.approx(0.6)


def test_a_declared_default_prices_unknown_providers_but_only_in_its_service_and_unit():
    prices = PriceTable(TABLE)
    assert prices.price("llm", "unknown", None, "tokens_in", 1000) == pytest.approx(1.0)
    assert prices.price("llm", "unknown", None, "tokens_out", 1000) is None
    assert prices.price("stt", "unknown", None, "minutes", 1) is None
    assert prices.price("transport", "acme", None, "minutes", 1) is None


def test_a_row_that_lacks_the_unit_falls_through_to_the_next_row():
    prices = PriceTable({"llm": {"acme/big": {"tokens_out": 8.0}, "acme": {"tokens_in": 2.0, "tokens_out": 4.0}}})
    assert prices.unit_price("llm", "acme", "big", "tokens_out") == pytest.approx(0.008)
    assert prices.unit_price("llm", "acme", "big", "tokens_in") == pytest.approx(0.002)


def test_lookups_are_cached_up_to_the_limit_and_each_uncached_one_is_reported():
    uncached = []
    prices = PriceTable(TABLE, cache_limit=2, on_uncached=lambda: uncached.append(1))
    for provider in ("acme", "a", "b", "c"):
        prices.unit_price("stt", provider, None, "minutes")
    assert len(uncached) == 2
    prices.unit_price("stt", "acme", None, "minutes")
    assert len(uncached) == 2  # cached before the cache filled
    assert prices.unit_price("stt", "c", None, "minutes") is None and len(uncached) == 3


def test_free_text_models_share_their_providers_cache_entry():
    uncached = []
    prices = PriceTable(TABLE, cache_limit=3, on_uncached=lambda: uncached.append(1))
    for i in range(100):
        assert prices.unit_price("stt", "acme", f"model-{i}", "minutes") == pytest.approx(0.6)
    assert uncached == []


@pytest.mark.parametrize(
    "table, message",
    [
        ([], "mapping of service"),
        ({"video": {}}, "unknown service 'video'"),
        ({"stt": ["acme"]}, "stt: expected a mapping of provider"),
        ({"stt": {"acme": 0.1}}, "stt.acme: expected a mapping of unit"),
        ({"stt": {"acme": {"seconds": 0.1}}}, "unknown price unit 'seconds'"),
        ({"stt": {"acme": {"minutes": -0.1}}}, "stt.acme.minutes: price must be a number >= 0"),
        ({"stt": {"acme": {"minutes": "0.1"}}}, "price must be a number"),
        ({"stt": {"acme": {"minutes": True}}}, "price must be a number"),
    ],
)
def test_a_malformed_table_is_refused_with_where_it_goes_wrong(table, message):
    with pytest.raises(PriceTableError, match=message):
        PriceTable(table)


def test_a_free_price_is_a_price_not_unpriced():
    assert PriceTable({"stt": {"acme": {"minutes": 0}}}).price("stt", "acme", None, "minutes", 10) == 0.0


def test_the_shipped_table_is_the_default_and_load_without_a_file_gives_it():
    shipped = PriceTable.default()
    loaded = PriceTable.load(None)
    for service, provider, unit in (("stt", "deepgram", "minutes"), ("tts", "elevenlabs", "characters")):
        assert loaded.unit_price(service, provider, None, unit) == shipped.unit_price(service, provider, None, unit)
        assert shipped.unit_price(service, provider, None, unit) > 0


def test_an_override_file_replaces_whole_rows_and_keeps_the_other_services(tmp_path):
    path = tmp_path / "prices.yaml"
    path.write_text("llm:\n  openai: {tokens_out: 1.0}\n")
    prices = PriceTable.load(path)
    assert prices.unit_price("llm", "openai", None, "tokens_out") == pytest.approx(0.001)
    assert prices.unit_price("llm", "openai", None, "tokens_in") is None  # the row is the file's, whole
    assert prices.unit_price("stt", "deepgram", None, "minutes") == PriceTable.default().unit_price(
        "stt", "deepgram", None, "minutes"
    )


def test_an_empty_override_file_is_the_default_table(tmp_path):
    path = tmp_path / "prices.yaml"
    path.write_text("")
    assert PriceTable.load(path).unit_price("stt", "deepgram", None, "minutes") == PriceTable.default().unit_price(
        "stt", "deepgram", None, "minutes"
    )


@pytest.mark.parametrize(
    "text, message",
    [
        ("stt: [unclosed\n", "cannot read price table"),
        ("- a list\n", "must be a mapping"),
        ("stt: 3\n", "stt: expected a mapping of provider"),
        ("stt:\n  acme: {minutes: -1}\n", "price must be a number >= 0"),
    ],
)
def test_an_unusable_override_file_is_refused_with_its_path(tmp_path, text, message):
    path = tmp_path / "prices.yaml"
    path.write_text(text)
    with pytest.raises(PriceTableError, match=message):
        PriceTable.load(path)


def test_a_missing_override_file_is_refused():
    with pytest.raises(PriceTableError, match="cannot read price table"):
        PriceTable.load("/nonexistent/prices.yaml")


def test_every_usage_unit_the_events_take_has_a_price_key():
    assert set(USAGE_UNITS) == set(PRICED_AS)
