"""Audio Quality: levels and clipping by stage, byte rates, codec alignment, VAD confidence, transport and MOS."""

from grafana.builder import alert_thresholds as th
from grafana.builder import board, drilldown, links, units
from grafana.builder.panels import (
    CRITICAL,
    OK,
    WARNING,
    above,
    bargauge_panel,
    below,
    query,
    row,
    stat_panel,
    steps,
    timeseries_panel,
)
from grafana.builder.promql import RANGE, agg, increase, quantile, rate, recorded

UID = "voice-audio-quality"
PROV = {"provider": "$provider"}
# ITU-T G.107 user satisfaction: below 3.6 many users dissatisfied, 4.0 and above satisfied.
MOS_COLOURS = steps(CRITICAL, (3.6, WARNING), (4.0, OK))


def build():
    return (
        board.new(
            UID,
            "Voice Agent / Audio Quality",
            "The audio path: levels, clipping, byte rates, codec alignment, voice activity, concealment and the "
            "transport's MOS.",
            board.provider(),
            links=(links.runbook_link(),),
        )
        .with_row(row("Levels"))
        .with_panel(
            timeseries_panel(
                "RMS level by stage",
                "Last RMS level reported at each stage (caller in, STT in, TTS out, agent out) by any call, all "
                "providers (levels carry no provider), full scale 100%. One call's level spread is on Call Detail.",
                units.of("ai_agent_audio_rms"),
                query(agg("avg", "ai_agent_audio_rms", ("stage",)), "{{stage}}"),
                w=12,
            )
        )
        .with_panel(
            timeseries_panel(
                "DC offset by stage",
                "Last DC offset reported at each stage by any call, all providers, full scale 100%; "
                "a persistent offset points at a faulty capture or resampler.",
                units.of("ai_agent_audio_dc_offset"),
                query(agg("avg", "ai_agent_audio_dc_offset", ("stage",)), "{{stage}}"),
                w=12,
            )
        )
        .with_panel(
            timeseries_panel(
                "Clipping by stage",
                "Highest share of samples at full scale last reported at each stage by any call, all providers "
                "(levels carry no provider); clipped speech is distorted for the caller and for speech-to-text.",
                units.of("ai_agent_audio_clipping_ratio"),
                query(agg("max", "ai_agent_audio_clipping_ratio", ("stage",)), "{{stage}}"),
                w=12,
            ).min(0)
        )
        .with_panel(
            timeseries_panel(
                "Audio bytes in/out",
                "Audio bytes received from (rx) and sent to (tx) callers, per second.",
                units.rate_of("ai_agent_audio_bytes_total"),
                query(
                    rate("ai_agent_audio_bytes_total", ("provider", "direction"), **PROV), "{{provider}} {{direction}}"
                ),
                w=12,
            )
        )
        .with_panel(drilldown.codec_alignment(w=6).data_links([drilldown.provider_link()]))
        .with_panel(
            stat_panel(
                "Aligned codec checks",
                "Share of live calls' codec checks that were aligned, by provider.",
                units.of("ai_agent_call_codec_alignment_ratio"),
                query(
                    agg("avg", "ai_agent_call_codec_alignment_ratio", ("provider",), **PROV),
                    "{{provider}}",
                    instant=True,
                ),
                thresholds=steps(CRITICAL, (0.9, WARNING), (1, OK)),
                w=6,
                h=8,
            ).data_links([drilldown.provider_link()])
        )
        .with_row(row("Voice activity"))
        .with_panel(
            bargauge_panel(
                "VAD confidence distribution",
                "Voice activity detection confidence of speech frames in the time range, by confidence bucket, all "
                "providers (VAD confidence carries no provider).",
                "short",
                query(
                    increase("ai_agent_vad_confidence", ("le",), RANGE, "_bucket"),
                    "{{le}}",
                    instant=True,
                    fmt="heatmap",
                ),
                w=12,
            )
        )
        .with_panel(
            timeseries_panel(
                "Median VAD confidence",
                "Median confidence of speech frames, all providers; VADConfidenceLow fires below the line.",
                units.of("ai_agent_vad_confidence"),
                query(quantile(0.5, "ai_agent_vad_confidence"), "median"),
                thresholds=below(th.value("vad_confidence_median")),
                threshold_lines=True,
                w=12,
            )
            .min(0)
            .max(1)
        )
        .with_row(row("Transport"))
        .with_panel(
            timeseries_panel(
                "MOS estimate",
                "E-model (ITU-T G.107) MOS estimated by the scorer from each "
                "live call's transport: mean and worst call by provider.",
                "none",
                query(agg("avg", "ai_agent_call_mos_estimate", ("provider",), **PROV), "mean {{provider}}"),
                query(agg("min", "ai_agent_call_mos_estimate", ("provider",), **PROV), "worst {{provider}}"),
                thresholds=MOS_COLOURS,
                threshold_lines=True,
                w=12,
            )
            .min(1)
            .max(4.5)
            .data_links([drilldown.provider_link()])
        )
        .with_panel(
            timeseries_panel(
                "Transport RTT and jitter p95",
                "Round-trip time and interarrival jitter of the media transport, p95 by provider.",
                "s",
                query(quantile(0.95, "ai_agent_transport_rtt_seconds", ("provider",), **PROV), "RTT {{provider}}"),
                query(
                    quantile(0.95, "ai_agent_transport_jitter_seconds", ("provider",), **PROV), "jitter {{provider}}"
                ),
                w=12,
            ).data_links([drilldown.provider_link()])
        )
        .with_panel(
            timeseries_panel(
                "Packet loss p95",
                "Packet loss ratio of transport reports, p95 by provider.",
                units.of("ai_agent_transport_packet_loss_ratio"),
                query(quantile(0.95, "ai_agent_transport_packet_loss_ratio", ("provider",), **PROV), "{{provider}}"),
                w=12,
            ).data_links([drilldown.provider_link()])
        )
        .with_panel(
            timeseries_panel(
                "Concealment p95",
                "Share of received audio samples the receiver concealed (lost or arrived too late, filled in by "
                "the jitter buffer) per transport report, p95 by provider: what the agent heard badly.",
                units.of("ai_agent_transport_concealment_ratio"),
                query(quantile(0.95, "ai_agent_transport_concealment_ratio", ("provider",), **PROV), "{{provider}}"),
                w=12,
            ).data_links([drilldown.provider_link()])
        )
        .with_panel(
            timeseries_panel(
                "Transport connection losses",
                "Media connections (AudioSocket, RTP, WebRTC) lost mid-call per call started, by provider, over 10 "
                "minutes; AudioSocketConnectionLoss fires above the line.",
                "percentunit",
                query(
                    recorded("provider:ai_agent_transport_connection_losses_per_call:ratio_rate10m")
                    + '{provider=~"$provider"}',
                    "{{provider}}",
                ),
                thresholds=above(critical=th.value("connection_losses_per_call_ratio")),
                threshold_lines=True,
                w=12,
            )
            .min(0)
            .data_links([drilldown.provider_link()])
        )
    )
