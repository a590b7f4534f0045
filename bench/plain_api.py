"""The API without the payload codec, for the benchmark's same-run measure of what encryption
costs. Only the benchmark starts it: Alliance itself never runs without its keys."""

from __future__ import annotations

import sys
from pathlib import Path

import uvicorn

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import temporal_client  # noqa: E402

temporal_client.converter_for = lambda settings: temporal_client.DATA_CONVERTER

if __name__ == "__main__":
    port = int(sys.argv[1])
    uvicorn.run("api.app:app", host="127.0.0.1", port=port, log_level="warning")
