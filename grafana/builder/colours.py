"""Pinned colours: a provider, a conversation state or a quality band has the same colour on every panel.

Grafana otherwise colours series by their order in the response, so a provider changes colour when another one
appears. Alert colours (green, orange for warning, red for critical) live in ``panels``.
"""

from __future__ import annotations

import re

from grafana_foundation_sdk.models import dashboard as md

# The providers and vendors the engine's integrations report (call providers, and the vendors billed for usage).
PROVIDERS = {
    "deepgram": "blue",
    "openai_realtime": "purple",
    "openai": "dark-purple",
    "elevenlabs": "super-light-blue",
    "twilio": "dark-blue",
}
# The conversation states of ai_agent_conversation_state.
STATES = {
    "greeting": "light-purple",
    "listening": "blue",
    "processing": "yellow",
    "speaking": "green",
}


Override = tuple[md.MatcherConfig, list[md.DynamicConfigValue]]


def _fixed(matcher_id: str, options: dict, colour: str) -> Override:
    return (
        md.MatcherConfig(id_val=matcher_id, options=options),
        [md.DynamicConfigValue(id_val="color", value={"mode": "fixed", "fixedColor": colour})],
    )


def pin(panel, overrides: list[Override]):
    for matcher, properties in overrides:
        panel = panel.with_override(matcher, properties)
    return panel


def for_providers() -> list[Override]:
    """One override per provider, matching a series whose display name holds the provider as a word."""
    return [
        _fixed("byRegexpOrNames", {"pattern": rf"^(.*\s)?{re.escape(name)}(\s.*)?$"}, colour)
        for name, colour in PROVIDERS.items()
    ]


def for_states() -> list[Override]:
    """One override per conversation state, for series named after the state."""
    return [_fixed("byNames", {"mode": "include", "names": [name]}, colour) for name, colour in STATES.items()]
