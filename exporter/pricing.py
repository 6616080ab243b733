"""Pricing usage from a price table when the engine reports no cost for it.

The table is YAML: ``service -> provider (or provider/model, or default) -> price``.
Prices are US dollars per minute (stt, transport, platform), per 1,000 tokens
(llm ``tokens_in``, ``tokens_out`` and ``tokens_in_cached``; a row without a cached price prices cached
tokens at its ``tokens_in`` price) and per 1,000 characters (tts).  Usage the
table has no row for is unpriced: ``price`` returns None, never a guess.
"""

from __future__ import annotations

from collections.abc import Callable
from importlib import resources
from pathlib import Path

import yaml

from voice_monitoring.exporter.events import SERVICES

# usage unit -> (price key in the table, factor from the unit to the priced quantity)
PRICED_AS = {
    "audio_seconds": ("minutes", 1 / 60),
    "minutes": ("minutes", 1.0),
    "tokens_in": ("tokens_in", 1 / 1000),
    "tokens_out": ("tokens_out", 1 / 1000),
    "characters": ("characters", 1 / 1000),
    "tokens_in_cached": ("tokens_in_cached", 1 / 1000),
}
# price key -> the key a row's price falls back to when the row has none: cached prompt tokens are never dearer
# than uncached ones
FALLBACK_KEY = {"tokens_in_cached": "tokens_in"}


# service -> provider (or provider/model, or default) -> price unit -> dollars
PriceEntries = dict[str, dict[str, dict[str, float]]]


class PriceTableError(ValueError):
    pass


class PriceTable:
    def __init__(self, table: object, cache_limit: int = 10_000, on_uncached: Callable[[], None] = lambda: None):
        if not isinstance(table, dict):
            raise PriceTableError("the price table must be a mapping of service to providers")
        for service, providers in table.items():
            if service not in SERVICES:
                raise PriceTableError(f"unknown service {service!r} (expected one of {', '.join(SERVICES)})")
            if not isinstance(providers, dict):
                raise PriceTableError(f"{service}: expected a mapping of provider to prices")
            for provider, prices in providers.items():
                if not isinstance(prices, dict):
                    raise PriceTableError(f"{service}.{provider}: expected a mapping of unit to price")
                for key, price in prices.items():
                    if key not in {k for k, _ in PRICED_AS.values()}:
                        raise PriceTableError(f"{service}.{provider}: unknown price unit {key!r}")
                    if isinstance(price, bool) or not isinstance(price, (int, float)) or price < 0:
                        raise PriceTableError(f"{service}.{provider}.{key}: price must be a number >= 0")
        self._table: PriceEntries = table
        # (service, provider) -> the models priced on their own: any other model is priced as its provider,
        # so the cache below is keyed on a bounded set whatever free text arrives as ``model``.
        self._models: dict[tuple[str, str], set[str]] = {}
        for service, providers in table.items():
            for name in providers:
                provider, _, model = name.partition("/")
                if model:
                    self._models.setdefault((service, provider), set()).add(model)
        self._unit_prices: dict[tuple[str, str, str | None, str], float | None] = {}
        self.cache_limit = cache_limit
        self.on_uncached = on_uncached  # called when a price is looked up without caching (the cache is full)

    def unit_price(self, service: str, provider: str, model: str | None, unit: str) -> float | None:
        """Dollars per one ``unit`` of usage (most specific entry: provider/model, provider, a ``default`` the
        table declares); None when the table has no entry for it."""
        if model is not None and model not in self._models.get((service, provider), ()):
            model = None
        key = (service, provider, model, unit)
        try:
            return self._unit_prices[key]
        except KeyError:
            pass
        found = self._look_up(service, provider, model, unit)
        if len(self._unit_prices) < self.cache_limit:
            self._unit_prices[key] = found
        else:
            self.on_uncached()
        return found

    def _look_up(self, service: str, provider: str, model: str | None, unit: str) -> float | None:
        providers = self._table.get(service, {})
        price_key, factor = PRICED_AS[unit]
        fallback_key = FALLBACK_KEY.get(price_key)
        for name in ((f"{provider}/{model}" if model else None), provider, "default"):
            prices = providers.get(name) if name else None
            if prices:
                if price_key in prices:
                    return prices[price_key] * factor
                if fallback_key in prices:
                    return prices[fallback_key] * factor
        return None

    @classmethod
    def default(cls) -> PriceTable:
        text = resources.files("voice_monitoring.exporter").joinpath("prices.yaml").read_text()
        return cls(yaml.safe_load(text))

    @classmethod
    def load(cls, path: str | Path | None) -> PriceTable:
        """The default table, with the services and providers of ``path`` laid over it."""
        table = cls.default()._table
        if path:
            try:
                override = yaml.safe_load(Path(path).read_text()) or {}
            except (OSError, yaml.YAMLError) as exc:
                raise PriceTableError(f"cannot read price table {path}: {exc}") from exc
            if not isinstance(override, dict):
                raise PriceTableError(f"{path}: the price table must be a mapping")
            table = {s: dict(p) for s, p in table.items()}
            for service, providers in override.items():
                if not isinstance(providers, dict):
                    raise PriceTableError(f"{path}: {service}: expected a mapping of provider to prices")
                table.setdefault(service, {}).update(providers)
        return cls(table)

    def price(self, service: str, provider: str, model: str | None, unit: str, quantity: float) -> float | None:
        """Dollars for ``quantity`` of usage; None when the table has no price for it."""
        unit_price = self.unit_price(service, provider, model, unit)
        return None if unit_price is None else unit_price * quantity
