"""make run, the Docker image and bench/ws_delivery.py start uvicorn with the same options."""

from __future__ import annotations

from pathlib import Path

from orbit.run import UVICORN_OPTIONS, _commands, uvicorn_flags

ROOT = Path(__file__).resolve().parents[2]


def test_make_run_and_the_docker_image_use_the_measured_uvicorn_options():
    flags = " ".join(uvicorn_flags())
    assert "--ws websockets-sansio" in flags and "--ws-per-message-deflate false" in flags
    assert flags in " ".join(_commands("8001", "127.0.0.1")["web"])
    cmd = [line for line in (ROOT / "docker" / "Dockerfile").read_text().splitlines() if line.startswith("CMD")]
    assert cmd and flags in cmd[0]


def test_the_websocket_bench_serves_with_the_same_options():
    source = (ROOT / "bench" / "ws_delivery.py").read_text()
    assert "**UVICORN_OPTIONS" in source
    assert UVICORN_OPTIONS["ws_per_message_deflate"] is False
