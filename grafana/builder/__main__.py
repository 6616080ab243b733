"""Write every dashboard as JSON, and each alert's link to its panel: ``python -m grafana.builder [--out DIR]``."""

import argparse
from pathlib import Path

from grafana.builder.alert_links import LINKS_FILE
from grafana.builder.catalog import write_all

DEFAULT_OUT = Path(__file__).resolve().parent.parent / "dashboards"


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m grafana.builder", description=__doc__)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="directory for the JSON files")
    parser.add_argument("--links", type=Path, default=LINKS_FILE, help="file for the alerts' dashboard links")
    args = parser.parse_args()
    for path in write_all(args.out, args.links):
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
