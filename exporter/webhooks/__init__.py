"""Receivers for hosted voice platforms' webhooks (Vapi, Retell): platform payloads in, exporter events out."""
