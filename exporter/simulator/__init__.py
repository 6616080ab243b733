"""A voice-engine simulator that drives the exporter with realistic traffic and fault scenarios."""

from exporter.simulator.profiles import MATRIX, SCENARIOS
from exporter.simulator.traffic import Simulator

__all__ = ["MATRIX", "SCENARIOS", "Simulator"]
