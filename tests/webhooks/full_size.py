"""Full-size platform reports built from the platforms' own SDK models: a 6 to 10 minute call with 20 to 40
turns, unicode transcripts, every cost line the platform bills.  Each builder returns the SDK object, so a test
reads the expected figures from what the SDK model holds, and ``payload`` gives the JSON the platform posts."""

from __future__ import annotations

import json
import random

from retell.types.phone_call_response import (
    CallCost,
    CallCostProductCost,
    Latency,
    LatencyAsr,
    LatencyE2E,
    LatencyKnowledgeBase,
    LatencyLlm,
    LatencyS2s,
    LatencyTts,
    LlmTokenUsage,
    PhoneCallResponse,
    TranscriptObject,
    TranscriptObjectWord,
)
from vapi.types.analysis import Analysis
from vapi.types.artifact import Artifact
from vapi.types.bot_message import BotMessage
from vapi.types.call import Call
from vapi.types.create_assistant_dto import CreateAssistantDto
from vapi.types.performance_metrics import PerformanceMetrics
from vapi.types.server_message_end_of_call_report import ServerMessageEndOfCallReport
from vapi.types.server_message_end_of_call_report_costs_item import (
    ServerMessageEndOfCallReportCostsItem_Analysis,
    ServerMessageEndOfCallReportCostsItem_KnowledgeBase,
    ServerMessageEndOfCallReportCostsItem_Model,
    ServerMessageEndOfCallReportCostsItem_Transcriber,
    ServerMessageEndOfCallReportCostsItem_Transport,
    ServerMessageEndOfCallReportCostsItem_Vapi,
    ServerMessageEndOfCallReportCostsItem_Voice,
    ServerMessageEndOfCallReportCostsItem_VoicemailDetection,
)
from vapi.types.turn_latency import TurnLatency
from vapi.types.user_message import UserMessage

from tests.webhooks.fixtures import iso

LINES = (
    "Bonjour, je voudrais déplacer mon rendez-vous de jeudi.",
    "Können Sie mir die Rechnung vom März noch einmal schicken?",
    "¿Cuál es el saldo de mi cuenta, por favor?",
    "予約を来週の火曜日に変更できますか。",
    "Моя карта не работает с утра.",
    "I'd like to speak with someone about my order 🙂",
    "Is there a cheaper plan — one without the international minutes?",
)


def _vapi_line(rng: random.Random) -> str:
    return " ".join(rng.choice(LINES) for _ in range(rng.randint(1, 3)))


def vapi_report(now: float, turns: int = 32, call_id: str = "4b8d1c0e-full-size-vapi", seed: int = 7):
    """A Vapi end-of-call report as its SDK models it, ending two seconds before ``now``."""
    rng = random.Random(seed)
    ended = now - 2.0
    minutes = rng.uniform(6.0, 10.0)
    started = ended - minutes * 60.0
    started_ms = started * 1000.0
    messages, latencies, at = [], [], started_ms + 400.0
    for turn in range(turns):
        if turn:  # the caller speaks, then the assistant answers after the turn's latency
            spoken = rng.uniform(900.0, 4000.0)
            messages.append(
                UserMessage(
                    role="user",
                    message=_vapi_line(rng),
                    time=at,
                    end_time=at + spoken,
                    seconds_from_start=(at - started_ms) / 1000.0,
                    duration=spoken,
                )
            )
            at += spoken
            parts = {
                "transcriber_latency": rng.uniform(120.0, 260.0),
                "model_latency": rng.uniform(300.0, 900.0),
                "voice_latency": rng.uniform(120.0, 320.0),
                "endpointing_latency": rng.uniform(200.0, 500.0),
            }
            latency = sum(parts.values()) + rng.uniform(0.0, 60.0)
            latencies.append(TurnLatency(**parts, turn_latency=latency))
            at += latency
        speech = rng.uniform(1500.0, 7000.0)
        messages.append(
            BotMessage(
                role="bot",
                message=_vapi_line(rng),
                time=at,
                end_time=at + speech,
                seconds_from_start=(at - started_ms) / 1000.0,
                duration=speech,
                source="",
            )
        )
        at += speech + rng.uniform(200.0, 1200.0)
    billed = round(minutes, 4)
    costs = [
        ServerMessageEndOfCallReportCostsItem_Transport(
            provider="twilio", minutes=billed, cost=round(0.0085 * billed, 6)
        ),
        ServerMessageEndOfCallReportCostsItem_Transcriber(
            transcriber={"provider": "deepgram", "model": "nova-3", "language": "multi"},
            minutes=billed,
            cost=round(0.0043 * billed, 6),
        ),
        ServerMessageEndOfCallReportCostsItem_Model(
            model={"provider": "openai", "model": "gpt-4o-mini"},
            prompt_tokens=41_230,
            completion_tokens=2_310,
            cached_prompt_tokens=30_720,
            cost=0.0077,
        ),
        ServerMessageEndOfCallReportCostsItem_Voice(
            voice={"provider": "11labs", "voiceId": "burt", "model": "eleven_flash_v2_5"},
            characters=6_420,
            cost=0.2311,
        ),
        ServerMessageEndOfCallReportCostsItem_Vapi(sub_type="normal", minutes=billed, cost=round(0.05 * billed, 6)),
        ServerMessageEndOfCallReportCostsItem_Analysis(
            analysis_type="summary",
            model={"provider": "openai", "model": "gpt-4o"},
            prompt_tokens=6_900,
            completion_tokens=180,
            cost=0.0191,
        ),
        ServerMessageEndOfCallReportCostsItem_KnowledgeBase(
            model={"provider": "google", "model": "gemini-2.0-flash"},
            prompt_tokens=3_100,
            completion_tokens=240,
            cost=0.0004,
        ),
        ServerMessageEndOfCallReportCostsItem_VoicemailDetection(
            model={"provider": "openai", "model": "gpt-4o-mini-realtime"},
            provider="openai",
            prompt_text_tokens=310,
            prompt_audio_tokens=1_200,
            completion_text_tokens=4,
            completion_audio_tokens=0,
            cost=0.0012,
        ),
    ]
    transcript = "\n".join(f"{'AI' if m.role == 'bot' else 'User'}: {m.message}" for m in messages)
    report = ServerMessageEndOfCallReport(
        type="end-of-call-report",
        assistant=CreateAssistantDto(name="Front desk"),
        assistant_version="v3",
        ended_reason="customer-ended-call",
        timestamp=now * 1000.0,
        started_at=iso(started),
        ended_at=iso(ended),
        cost=round(sum(c.cost for c in costs), 6),
        costs=costs,
        artifact=Artifact(
            messages=messages,
            transcript=transcript,
            performance_metrics=PerformanceMetrics(
                turn_latencies=latencies,
                turn_latency_average=sum(t.turn_latency for t in latencies) / len(latencies),
                from_transport_latency_average=38.5,
                to_transport_latency_average=21.0,
                num_user_interrupted=1,
                num_assistant_interrupted=4,
            ),
        ),
        analysis=Analysis(summary="The caller moved an appointment.", success_evaluation="true"),
        call=Call(
            id=call_id,
            org_id="6f1b6d2e-1f0a-4a47-8c1e-0a2b3c4d5e6f",
            type="outboundPhoneCall",
            created_at=iso(started - 3.0),
            updated_at=iso(ended),
            status="ended",
            assistant_id="0f7d9c5e-8a43-4f1b-9b2e-3c6d2a1e5f47",
            metadata={"tenant": "initech"},
        ),
    )
    return report


def vapi_payload(report: ServerMessageEndOfCallReport) -> dict:
    return {"message": json.loads(report.json())}


def retell_call(now: float, turns: int = 28, call_id: str = "full-size-retell-call", seed: int = 11):
    """A Retell call_ended call as its SDK models it, ending a second before ``now``."""
    rng = random.Random(seed)
    end_ms = int((now - 1.0) * 1000)
    duration_ms = int(rng.uniform(6.0, 10.0) * 60_000)

    def latency(model, low, high, count):
        values = [round(rng.uniform(low, high), 1) for _ in range(count)]
        ordered = sorted(values)
        return model(
            values=values,
            min=ordered[0],
            max=ordered[-1],
            num=count,
            p50=ordered[count // 2],
            p90=ordered[int(count * 0.9)],
            p95=ordered[int(count * 0.95)],
            p99=ordered[-1],
        )

    transcript, at = [], 0.4
    for _ in range(turns):
        for role in ("agent", "user"):
            words = rng.choice(LINES).split()
            timed = []
            for word in words:
                length = rng.uniform(0.18, 0.45)
                timed.append(TranscriptObjectWord(word=word, start=round(at, 3), end=round(at + length, 3)))
                at += length
            transcript.append(TranscriptObject(role=role, content=" ".join(words), words=timed))
            at += rng.uniform(0.6, 1.4)
    products = [
        CallCostProductCost(product="elevenlabs_tts", unit_price=0.1167, cost=round(0.1167 * duration_ms / 1000, 4)),
        CallCostProductCost(product="gpt_4o_mini", unit_price=0.0083, cost=round(0.0083 * duration_ms / 1000, 4)),
        CallCostProductCost(
            product="retell_voice_engine", unit_price=0.0833, cost=round(0.0833 * duration_ms / 1000, 4)
        ),
        CallCostProductCost(
            product="background_voice_cancellation", unit_price=0.0083, cost=round(0.0083 * duration_ms / 1000, 4)
        ),
        CallCostProductCost(product="twilio_telephony", unit_price=0.0233, cost=round(0.0233 * duration_ms / 1000, 4)),
    ]
    return PhoneCallResponse(
        call_id=call_id,
        agent_id="oBeDLoLOeuAbiuaMFXRtDOLriTJ5tSxD",
        agent_version=4,
        agent_name="Front desk",
        call_status="ended",
        call_type="phone_call",
        direction="outbound",
        from_number="+12137771234",
        to_number="+33612345678",
        metadata={"tenant": "umbrella"},
        start_timestamp=end_ms - duration_ms,
        end_timestamp=end_ms,
        duration_ms=duration_ms,
        disconnection_reason="inactivity",
        transcript="\n".join(f"{'Agent' if u.role == 'agent' else 'User'}: {u.content}" for u in transcript),
        transcript_object=transcript,
        latency=Latency(
            e2e=latency(LatencyE2E, 700.0, 2100.0, turns),
            asr=latency(LatencyAsr, 90.0, 260.0, turns),
            llm=latency(LatencyLlm, 300.0, 1100.0, turns),
            tts=latency(LatencyTts, 150.0, 420.0, turns),
            knowledge_base=latency(LatencyKnowledgeBase, 60.0, 240.0, 6),
            s2s=latency(LatencyS2s, 250.0, 700.0, 3),
        ),
        llm_token_usage=LlmTokenUsage(
            values=[float(1200 + 140 * i) for i in range(turns)],
            average=1200 + 70 * (turns - 1),
            num_requests=turns,
        ),
        call_cost=CallCost(
            product_costs=products,
            combined_cost=round(sum(p.cost for p in products), 4),
            total_duration_seconds=duration_ms // 1000 + 1,
            total_duration_unit_price=round(sum(p.unit_price for p in products), 4),
        ),
    )


def retell_payload(call: PhoneCallResponse, event: str = "call_ended") -> dict:
    return {"event": event, "call": call.model_dump(mode="json", exclude_none=True)}
