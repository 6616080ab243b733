"""OpenTelemetry traces in: ``POST /v1/traces`` (OTLP/HTTP) turns the voice frameworks' own spans into events.

``decode``    a request body (protobuf or JSON, gzip or not) into the OTLP message, within bounds; replies
``tables``    the mapping tables: which span of which framework becomes which event, vendors included
``receiver``  the route: decode, map, start the call on first sight, apply through the exporter, reply
"""
