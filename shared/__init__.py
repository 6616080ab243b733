"""Code the exporter, the scorer and the build tools share: the metric catalogue and the HTTP service."""
