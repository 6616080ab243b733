"""Every STT, LLM and TTS service the pinned frameworks ship maps to a vendor the price table prices, or to one
named here as unpriced; read from the frameworks themselves: Pipecat's service classes (its source, so services
whose optional dependencies are not installed count too) and LiveKit Inference's model lists."""

from __future__ import annotations

import ast
import importlib.util
from pathlib import Path
from typing import get_args

import pytest

from voice_monitoring.client.vendors import PIPECAT_FRAMEWORK_STEMS, livekit_vendor, pipecat_service
from voice_monitoring.exporter.pricing import PriceTable

SERVICE_BASES = {"STTService": "stt", "LLMService": "llm", "TTSService": "tts"}

# service -> the vendors the shipped price table has no row for, so their usage is priced at 0 and counted in
# ai_agent_usage_unpriced_total. Self-hosted models (their cost is the operator's hardware) are among them. A vendor
# with rows for some of its models only (groq, mistral, xai LLMs) counts as priced here; its other models' usage
# is counted as unpriced all the same.
UNPRICED = {
    "stt": {
        "cartesia", "deepgram_sagemaker", "elevenlabs", "fal", "funasr", "gladia", "gradium", "meta", "moonshine",
        "nvidia", "nvidia_sagemaker", "sarvam", "smallest", "speechmatics", "together", "whisper", "xai", "zoom",
        "inworld",
    },
    "llm": {
        "aws", "aws_realtime", "azure", "azure_realtime", "baseten", "cerebras", "crusoe", "deepseek", "fireworks",
        "google_realtime", "inception", "inworld_realtime", "nebius", "novita", "nvidia", "ollama",
        "openrouter", "perplexity", "qwen", "sambanova", "sarvam", "smallest", "together", "ultravox",
        "xai_realtime", "moonshotai", "zai",
    },
    "tts": {
        "asyncai", "azure", "bland", "camb", "coqui", "deepgram_sagemaker", "fishaudio",
        "google", "gradium", "groq", "hume", "kokoro", "minimax", "mistral", "neuphonic", "nvidia",
        "nvidia_sagemaker", "piper", "pocket_tts", "resembleai", "rime", "sarvam", "smallest", "soniox",
        "speechify", "speechmatics", "together", "xai",
    },
}  # fmt: skip


def priced_vendors() -> dict[str, set[str]]:
    """service -> the vendors the shipped table has a row for (vendor-wide or for one of its models)."""
    table = PriceTable.default()._table
    return {service: {name.partition("/")[0] for name in table.get(service, {})} for service in SERVICE_BASES.values()}


def pipecat_service_classes() -> dict[str, str]:
    """Class name -> service kind of every class under pipecat.services whose bases lead to STTService,
    LLMService or TTSService, read from the installed package's source."""
    spec = importlib.util.find_spec("pipecat")
    root = Path(next(iter(spec.submodule_search_locations))) / "services"
    bases: dict[str, set[str]] = {}
    for path in root.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ClassDef):
                names = bases.setdefault(node.name, set())
                for base in node.bases:
                    base = base.value if isinstance(base, ast.Subscript) else base  # LLMService[Adapter]
                    names.add(base.attr if isinstance(base, ast.Attribute) else getattr(base, "id", ""))

    def kinds(name: str, seen: frozenset = frozenset()) -> set[str]:
        if name in SERVICE_BASES:
            return {SERVICE_BASES[name]}
        return set().union(*(kinds(b, seen | {name}) for b in bases.get(name, ()) if b not in seen))

    found = {}
    for name in bases:
        if name in SERVICE_BASES:
            continue
        kind = kinds(name)
        if kind:
            assert len(kind) == 1, (name, kind)
            found[name] = kind.pop()
    return found


@pytest.mark.frameworks("pipecat")
def test_every_pipecat_service_class_maps_to_a_priced_vendor_or_one_named_unpriced():
    classes = pipecat_service_classes()
    assert len(classes) > 140  # pipecat-ai 1.14 ships 148, framework bases included
    priced = priced_vendors()
    unpriced_seen = {service: set() for service in SERVICE_BASES.values()}
    wrong = []
    framework_bases = 0
    for name, kind in sorted(classes.items()):
        service, vendor = pipecat_service(f"{name}#0")
        if service != kind:
            wrong.append((name, "kind", kind, service))
        elif vendor is None:
            framework_bases += 1
            stem = name.removeprefix("_").removeprefix("Base").removesuffix("Service").removesuffix(kind.upper())
            if stem not in PIPECAT_FRAMEWORK_STEMS:
                wrong.append((name, "no vendor"))
        elif vendor in UNPRICED[kind]:
            unpriced_seen[kind].add(vendor)
        elif vendor not in priced[kind]:
            wrong.append((name, kind, vendor, "neither priced nor named unpriced"))
    assert wrong == []
    assert framework_bases == 10
    print(f"{len(classes)} Pipecat service classes, {framework_bases} framework bases, unpriced {unpriced_seen}")


@pytest.mark.frameworks("pipecat")
def test_pipecat_classes_the_old_class_name_rule_got_wrong():
    assert pipecat_service("CartesiaHttpTTSService#0") == ("tts", "cartesia")
    assert pipecat_service("DeepgramFluxSTTService#1") == ("stt", "deepgram")
    assert pipecat_service("OpenAIRealtimeLLMService#0") == ("llm", "openai_realtime")
    assert pipecat_service("OpenAIRealtimeSTTService#0") == ("stt", "openai")  # realtime transcription, per minute
    assert pipecat_service("GeminiLiveVertexLLMService#0") == ("llm", "google_realtime")
    assert pipecat_service("DeepgramSageMakerSTTService#0") == ("stt", "deepgram_sagemaker")
    assert pipecat_service("LLMUserAggregator#0") == (None, None)
    assert pipecat_service("STTMuteFilter#0") == (None, None)
    assert pipecat_service("MyOwnHttpTTSService#0") == ("tts", "myown")


def inference_models() -> dict[str, set[str]]:
    """service -> every model LiveKit Inference lists ("family/model"), realtime and duplex models as llm."""
    from livekit.agents.inference import _realtime_models, llm, stt, tts

    def flat(alias) -> set[str]:
        out = set()
        for arg in get_args(alias):
            out |= flat(arg) if not isinstance(arg, str) else {arg}
        return out

    return {
        "llm": flat(llm.LLMModels),
        "stt": flat(stt.STTModels) - {"auto"},
        "tts": flat(tts.TTSModels),
        "realtime": flat(_realtime_models.RealtimeModels)
        | flat(_realtime_models.DuplexModels)
        | set(_realtime_models.DEPRECATED_REALTIME_MODELS),
    }


@pytest.mark.frameworks("livekit")
def test_every_livekit_inference_model_maps_to_its_family_as_a_priced_vendor_or_one_named_unpriced():
    models = inference_models()
    priced = priced_vendors()
    wrong = []
    for group, names in models.items():
        service = "llm" if group == "realtime" else group
        for name in sorted(names):
            family = name.partition("/")[0]
            vendor, model = livekit_vendor("livekit", name)
            if group == "realtime":
                if not (vendor or "").endswith("_realtime"):
                    wrong.append((name, vendor, "not a realtime vendor"))
            elif vendor is None or vendor.endswith("_realtime") or not family.startswith(vendor):
                wrong.append((name, vendor, f"not the {family} family"))
            if "/" in name and model is not None and "/" in model:
                wrong.append((name, model, "model keeps its family"))
            if vendor not in priced[service] and vendor not in UNPRICED[service]:
                wrong.append((name, service, vendor, "neither priced nor named unpriced"))
    assert wrong == []
    assert sum(len(names) for names in models.values()) > 80


def test_livekit_inference_and_plugin_providers_name_the_price_tables_vendor():
    assert livekit_vendor("livekit", "openai/gpt-4o-mini") == ("openai", "gpt-4o-mini")
    assert livekit_vendor("livekit", "deepgram/nova-3") == ("deepgram", "nova-3")
    assert livekit_vendor("livekit", "cartesia/sonic-2:a167e0f3-df7e-4d52-a9c3-f949145efdab") == ("cartesia", "sonic-2")
    assert livekit_vendor("livekit", "deepseek-ai/deepseek-v3") == ("deepseek", "deepseek-v3")
    assert livekit_vendor("livekit", "openai/gpt-realtime") == ("openai_realtime", "gpt-realtime")
    assert livekit_vendor("livekit", "google/gemini-3.5-transcribe-live") == ("google", "gemini-3.5-transcribe-live")
    assert livekit_vendor("livekit", "auto") == (None, None)
    assert livekit_vendor("unknown", None) == (None, None)
    # the OpenAI-compatible plugins report their API host
    assert livekit_vendor("api.openai.com", "gpt-4o-mini") == ("openai", "gpt-4o-mini")
    assert livekit_vendor("api.openai.com", "gpt-realtime") == ("openai_realtime", "gpt-realtime")
    assert livekit_vendor("my-resource.openai.azure.com", "gpt-4o") == ("azure", "gpt-4o")
    assert livekit_vendor("api.groq.com", "llama-3.3-70b-versatile") == ("groq", "llama-3.3-70b-versatile")
    assert livekit_vendor("api.x.ai", "grok-3") == ("xai", "grok-3")
    assert livekit_vendor("localhost:11434", "llama3") == ("ollama", "llama3")


# What the LiveKit plugins' `provider` properties return (livekit-plugins-* 1.x sources; the plugins are not part
# of the pinned livekit-agents), with the service they serve.
PLUGIN_PROVIDERS = (
    ("stt", "AssemblyAI"), ("tts", "AsyncAI"), ("llm", "Amazon"), ("llm", "AWS Bedrock"), ("stt", "Amazon Transcribe"),
    ("tts", "Amazon Polly"), ("stt", "Azure STT"), ("tts", "Azure TTS"), ("llm", "Baseten"), ("tts", "Bland"),
    ("tts", "Camb.ai"), ("stt", "Cartesia"), ("tts", "Cartesia"), ("stt", "Deepgram"), ("tts", "Deepgram"),
    ("stt", "ElevenLabs"), ("tts", "ElevenLabs"), ("stt", "Fal"), ("tts", "FishAudio"), ("stt", "Gladia"),
    ("llm", "Gemini"), ("llm", "Vertex AI"), ("stt", "Google Cloud Platform"), ("tts", "Google Cloud Platform"),
    ("stt", "Gradium"), ("tts", "Gradium"), ("tts", "Groq"), ("tts", "Hume"), ("stt", "Inworld"), ("tts", "Inworld"),
    ("tts", "MiniMax"), ("llm", "MistralAI"), ("stt", "MistralAI"), ("tts", "MistralAI"), ("tts", "Neuphonic"),
    ("llm", "Perplexity"), ("tts", "Resemble"), ("tts", "Rime"), ("llm", "Sarvam"), ("stt", "Sarvam"),
    ("tts", "Sarvam"), ("stt", "SmallestAI"), ("tts", "SmallestAI"), ("stt", "Soniox"), ("tts", "Soniox"),
    ("tts", "Speechify"), ("stt", "Speechmatics"), ("tts", "Speechmatics"), ("llm", "Ultravox"), ("tts", "xAI"),
    ("llm", "api.anthropic.com"), ("llm", "api.openai.com"), ("stt", "api.openai.com"), ("tts", "api.openai.com"),
    ("llm", "api.groq.com"), ("stt", "api.groq.com"), ("llm", "api.cerebras.ai"), ("llm", "api.deepseek.com"),
    ("llm", "api.fireworks.ai"), ("llm", "openrouter.ai"), ("llm", "api.perplexity.ai"), ("llm", "api.together.xyz"),
    ("llm", "api.sambanova.ai"), ("llm", "api.x.ai"),
)  # fmt: skip


def test_every_livekit_plugin_provider_maps_to_a_priced_vendor_or_one_named_unpriced():
    priced = priced_vendors()
    wrong = [
        (service, provider, vendor)
        for service, provider in PLUGIN_PROVIDERS
        for vendor, _ in [livekit_vendor(provider, None)]
        if vendor not in priced[service] and vendor not in UNPRICED[service]
    ]
    assert wrong == []


def test_the_unpriced_list_names_no_vendor_the_table_prices():
    priced = priced_vendors()
    assert {service: UNPRICED[service] & priced[service] for service in UNPRICED} == {s: set() for s in UNPRICED}


@pytest.mark.frameworks("pipecat", "livekit")
def test_every_vendor_named_unpriced_is_one_a_framework_service_maps_to():
    named = {service: set() for service in UNPRICED}
    for name, kind in pipecat_service_classes().items():
        named[kind].add(pipecat_service(f"{name}#0")[1])
    for group, names in inference_models().items():
        named["llm" if group == "realtime" else group] |= {livekit_vendor("livekit", name)[0] for name in names}
    for service, provider in PLUGIN_PROVIDERS:
        named[service].add(livekit_vendor(provider, None)[0])
    assert {service: UNPRICED[service] - named[service] for service in UNPRICED} == {s: set() for s in UNPRICED}
