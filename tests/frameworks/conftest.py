# The scorer tests' module-scoped stack: a real exporter, Prometheus scraping it, and a scorer.
from tests.scorer.conftest import stack  # noqa: F401
