"""A voice-engine simulator that drives the exporter with realistic traffic and fault scenarios."""

from voice_monitoring.exporter.simulator.profiles import MATRIX, SCENARIOS
from voice_monitoring.exporter.simulator.traffic import Simulator

__all__ = ["MATRIX", "SCENARIOS", "Simulator"]
