"""Build a Python metric into a Caliper component.

    python -m caliper_sdk.build app.py -o metric.wasm [--wit DIR]

Runs ``componentize-py`` (pip install componentize-py==0.25.1) against the
Caliper contract (``wit/`` of this repository by default) with the app's
directory and this SDK on the module path. The module must define
``Metric = caliper_sdk.component.export(YourMetric)``.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from pathlib import Path

SDK_DIR = Path(__file__).resolve().parent.parent
DEFAULT_WIT = SDK_DIR.parent.parent / "wit"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m caliper_sdk.build",
        description="Build a Python metric (a module exporting `Metric`) into a component.",
    )
    parser.add_argument("app", type=Path, help="the module to build, e.g. app.py")
    parser.add_argument("-o", "--output", type=Path, required=True, help="the .wasm to write")
    parser.add_argument("--wit", type=Path, default=DEFAULT_WIT, help="the Caliper WIT directory")
    args = parser.parse_args(argv)

    tool = shutil.which("componentize-py")
    if tool is None:
        print("componentize-py not found: pip install componentize-py==0.25.1", file=sys.stderr)
        return 2
    if not args.app.is_file():
        print(f"{args.app}: no such file", file=sys.stderr)
        return 2
    if not (args.wit / "metric.wit").is_file():
        print(f"{args.wit}: no metric.wit there (give --wit)", file=sys.stderr)
        return 2
    app = args.app.resolve()
    cmd = [
        tool,
        "-d", str(args.wit),
        "-w", "metric-component",
        "componentize", app.stem,
        "-p", str(app.parent),
        "-p", str(SDK_DIR),
        "-o", str(args.output),
    ]
    return subprocess.call(cmd)


if __name__ == "__main__":
    sys.exit(main())
