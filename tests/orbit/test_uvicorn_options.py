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


def test_web_processes_switch_the_gil_every_millisecond_and_freeze_what_they_loaded(monkeypatch):
    import importlib
    import sys

    before = sys.getswitchinterval()
    try:
        import orbit.asgi

        monkeypatch.setenv("ORBIT_GIL_SWITCH_INTERVAL", "0.002")
        importlib.reload(orbit.asgi)
        assert sys.getswitchinterval() == 0.002
        monkeypatch.delenv("ORBIT_GIL_SWITCH_INTERVAL")
        importlib.reload(orbit.asgi)
        assert sys.getswitchinterval() == 0.001
        import gc

        assert gc.get_freeze_count() > 0  # the loaded application is out of the collector's way
    finally:
        sys.setswitchinterval(before)


def test_the_pool_replaces_persistent_connections_outside_tests():
    import subprocess
    import sys

    code = ("import django, os; os.environ.pop('ORBIT_TEST_SLOT', None); "
            "from django.conf import settings; d = settings.DATABASES['default']; "
            "print(d['CONN_MAX_AGE'], d['OPTIONS']['pool']['min_size'], d['OPTIONS']['pool']['max_size'])")
    env = {k: v for k, v in __import__("os").environ.items() if k not in ("ORBIT_TESTING", "PYTEST_CURRENT_TEST")}
    env["DJANGO_SETTINGS_MODULE"] = "orbit.settings"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["0", "4", "16"]
