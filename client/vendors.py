"""The one place a framework's service, provider and model become the vendor and model the price table names.

Pipecat names a service by its processor name (``CartesiaHttpTTSService#0``); LiveKit by a provider string
that is a display name (``Deepgram``, ``Amazon Polly``), an API host (``api.openai.com``) or ``livekit`` for
LiveKit Inference, whose model then names the vendor (``openai/gpt-4o-mini``).  Both become a vendor label
such as ``cartesia``, ``openai`` or ``openai_realtime`` (speech-to-speech models, priced on their own) and,
for LiveKit, a model without its vendor prefix or voice.
"""

from __future__ import annotations

import re

from voice_monitoring.client.call import label

# A Pipecat service class name: optional Base prefix, the stem (vendor and qualifiers), the service kind, then
# what the framework appends (Service, Base, MLX) and the processor's instance number.
_PIPECAT_NAME = re.compile(
    r"^_?(?:Base(?=[A-Z]))?(?P<stem>\w*?)(?P<kind>STT|LLM|TTS)(?:Service)?(?:Base|MLX)?(?:#\d+)?$"
)

# The leading word of a Pipecat service class -> the vendor billed (longest word first when two match).
PIPECAT_VENDORS = {
    "AWS": "aws",
    "AssemblyAI": "assemblyai",
    "AsyncAI": "asyncai",
    "Azure": "azure",
    "Baseten": "baseten",
    "Bland": "bland",
    "Camb": "camb",
    "Cartesia": "cartesia",
    "Cerebras": "cerebras",
    "Crusoe": "crusoe",
    "DeepSeek": "deepseek",
    "Deepgram": "deepgram",
    "ElevenLabs": "elevenlabs",
    "Fal": "fal",
    "Fireworks": "fireworks",
    "FishAudio": "fishaudio",
    "FunASR": "funasr",
    "Gemini": "google",
    "Gladia": "gladia",
    "Google": "google",
    "Gradium": "gradium",
    "Grok": "xai",
    "Groq": "groq",
    "Hume": "hume",
    "Inception": "inception",
    "Inworld": "inworld",
    "Kokoro": "kokoro",
    "Meta": "meta",
    "MiniMax": "minimax",
    "Mistral": "mistral",
    "Moonshine": "moonshine",
    "Nebius": "nebius",
    "Neuphonic": "neuphonic",
    "Novita": "novita",
    "Nvidia": "nvidia",
    "OLLama": "ollama",
    "OpenAI": "openai",
    "OpenRouter": "openrouter",
    "Perplexity": "perplexity",
    "Piper": "piper",
    "Pocket": "pocket_tts",
    "Qwen": "qwen",
    "ResembleAI": "resembleai",
    "Rime": "rime",
    "SambaNova": "sambanova",
    "Sarvam": "sarvam",
    "Smallest": "smallest",
    "Soniox": "soniox",
    "Speechify": "speechify",
    "Speechmatics": "speechmatics",
    "Together": "together",
    "Ultravox": "ultravox",
    "Whisper": "whisper",
    "X": "coqui",  # XTTSService: Coqui's XTTS server
    "XAI": "xai",
    "ZoomAI": "zoom",
}
_PIPECAT_WORDS = sorted(PIPECAT_VENDORS, key=len, reverse=True)
# Stems of the framework's own base classes: a service kind, but no vendor.
PIPECAT_FRAMEWORK_STEMS = frozenset(
    {
        "",
        "AudioContext",
        "AudioContextWord",
        "Interruptible",
        "InterruptibleWord",
        "Segmented",
        "Websocket",
        "WebsocketWord",
        "Word",
    }
)
# Words after the vendor that make an LLM service a speech-to-speech model, priced apart from the vendor's LLMs.
_REALTIME_WORDS = re.compile(r"Realtime|Live|NovaSonic")
# Vendors whose every model is speech-to-speech: no "_realtime" twin.
_REALTIME_ONLY = frozenset({"ultravox", "phonic"})
# Words that say how a service is reached, not who bills it (dropped from an unknown class's vendor).
_TRANSPORT_WORDS = re.compile(r"Http|HTTP|Websocket|Realtime|Sync|NonJson|V\d+$")


def pipecat_service(processor_name: str) -> tuple[str | None, str | None]:
    """(service kind "stt"/"llm"/"tts", vendor as the price table names it) of a Pipecat processor name such as
    ``CartesiaHttpTTSService#0``; (None, None) when it is not an STT, LLM or TTS service; (kind, None) for the
    framework's own base classes."""
    match = _PIPECAT_NAME.match(processor_name or "")
    if not match:
        return None, None
    kind, stem = match["kind"].lower(), match["stem"]
    if stem in PIPECAT_FRAMEWORK_STEMS:
        return kind, None
    word = next((w for w in _PIPECAT_WORDS if stem.startswith(w)), None)
    if word is None:
        return kind, label(_TRANSPORT_WORDS.sub("", stem) or stem)
    vendor, rest = PIPECAT_VENDORS[word], stem[len(word) :]
    if "SageMaker" in rest:  # the vendor's model hosted on the operator's own AWS SageMaker endpoint
        return kind, f"{vendor}_sagemaker"
    if kind == "llm" and _REALTIME_WORDS.search(rest):
        return kind, _realtime(vendor)
    return kind, vendor


def _realtime(vendor: str) -> str:
    return vendor if vendor in _REALTIME_ONLY or vendor.endswith("_realtime") else f"{vendor}_realtime"


# LiveKit Inference model families ("family/model") whose family is not the price table's vendor.
INFERENCE_FAMILIES = {"deepseek-ai": "deepseek"}
# Provider strings the LiveKit plugins report (display names, lower-cased) that are not the vendor's name.
LIVEKIT_PROVIDERS = {
    "amazon": "aws_realtime",  # Nova Sonic
    "amazon polly": "aws",
    "amazon transcribe": "aws",
    "aws bedrock": "aws",
    "azure stt": "azure",
    "azure tts": "azure",
    "camb.ai": "camb",
    "fireworksai": "fireworks",
    "gemini": "google",
    "google cloud platform": "google",
    "mistralai": "mistral",
    "resemble": "resembleai",
    "smallestai": "smallest",
    "vertex ai": "google",
    "vertex ai model garden": "google",
}
# API hosts (the OpenAI-compatible plugins report their base URL's host) whose domain is not the vendor.
_HOST_VENDORS = {"x": "xai", "localhost:11434": "ollama", "127.0.0.1:11434": "ollama"}
# Speech-to-speech models (OpenAI Realtime and Live, Gemini Live and native audio, Grok Voice, Nova Sonic);
# transcription models that stream over the same APIs ("gpt-live-transcribe") are not among them.
_REALTIME_MODEL = re.compile(r"realtime|(^|-)live($|-)|native-audio|grok-voice|nova-sonic")


def livekit_vendor(provider: str | None, model: str | None) -> tuple[str | None, str | None]:
    """(vendor, model) as the price table names them, for what a LiveKit plugin or LiveKit Inference reports:
    provider "livekit" with model "openai/gpt-4o-mini" -> ("openai", "gpt-4o-mini"); provider "Deepgram" with
    model "nova-3" -> ("deepgram", "nova-3"); provider "api.openai.com" with model "gpt-realtime" ->
    ("openai_realtime", "gpt-realtime")."""
    name = provider.strip().lower() if isinstance(provider, str) else ""
    model = model.strip() if isinstance(model, str) and model.strip() not in ("", "unknown") else None
    if name == "livekit" and model == "auto":  # LiveKit Inference picks the STT vendor by language
        return None, None
    if name in ("", "unknown", "livekit") and model and "/" in model:
        # LiveKit Inference: "family/model", and for TTS "family/model:voice"
        family, _, model = model.partition("/")
        vendor = INFERENCE_FAMILIES.get(family.lower(), label(family))
        model = model.partition(":")[0] or None
    elif name == "livekit" and model:  # an Inference model named by its family alone ("cartesia")
        vendor, model = INFERENCE_FAMILIES.get(model.lower(), label(model)), None
    elif name in ("", "unknown"):
        return None, label(model)
    else:
        vendor = _provider_vendor(name)
    if vendor and model and "transcribe" not in model.lower() and _REALTIME_MODEL.search(model.lower()):
        vendor = _realtime(vendor)
    return vendor, label(model)


def _provider_vendor(name: str) -> str | None:
    if name in LIVEKIT_PROVIDERS:
        return LIVEKIT_PROVIDERS[name]
    if name in _HOST_VENDORS:
        return _HOST_VENDORS[name]
    if "." in name and " " not in name:  # an API host: api.openai.com, myres.openai.azure.com, api.x.ai
        host = name.partition(":")[0]
        if host.endswith(".azure.com"):
            return "azure"
        parts = host.split(".")
        domain = parts[-2] if len(parts) >= 2 else parts[0]
        return _HOST_VENDORS.get(domain, label(domain))
    return label(name)
