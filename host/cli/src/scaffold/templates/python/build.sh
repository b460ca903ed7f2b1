#!/bin/sh
# Builds app.py into the component {{name}}.wasm with the Caliper Python SDK
# (needs componentize-py: `pip install componentize-py==0.25.1`).
set -e
cd "$(dirname "$0")"
PYTHONPATH="{{sdk}}/python${PYTHONPATH:+:$PYTHONPATH}" exec python3 -m caliper_sdk.build app.py -o {{name}}.wasm "$@"
