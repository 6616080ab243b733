# One image for the stack's Python services: voice-exporter (default), voice-scorer and voice-sim.
FROM python:3.11.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /src
COPY pyproject.toml ./
COPY api/ api/
COPY client/ client/
COPY exporter/ exporter/
COPY scorer/ scorer/
COPY shared/ shared/
RUN pip install . && rm -rf /src

RUN useradd --system --uid 10001 --no-create-home --shell /usr/sbin/nologin voice \
    && mkdir -p /var/lib/voice-exporter && chown 10001 /var/lib/voice-exporter
USER 10001
WORKDIR /

# Inside a container the services listen on every interface; compose publishes them on loopback only.
ENV EXPORTER_LISTEN_ADDRESS=0.0.0.0
EXPOSE 9470 9471 9472

CMD ["voice-exporter"]
