"""make run, the Docker image and bench/ws_delivery.py start uvicorn with the same options."""

from __future__ import annotations

from pathlib import Path

import pytest

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


# --- forwarded headers (issue 12, item 3) -----------------------------------------------


def test_make_run_trusts_no_forwarded_headers_unless_proxies_are_configured(monkeypatch):
    from orbit.run import proxy_flags

    monkeypatch.delenv("ORBIT_TRUSTED_PROXIES", raising=False)
    web = _commands("8001", "127.0.0.1")["web"]
    assert "--no-proxy-headers" in web and "--proxy-headers" not in web and "--forwarded-allow-ips" not in web

    monkeypatch.setenv("ORBIT_TRUSTED_PROXIES", " 10.0.0.7, 172.16.0.0/12 ,")
    web = _commands("8001", "127.0.0.1")["web"]
    at = web.index("--forwarded-allow-ips")
    assert web[at - 1] == "--proxy-headers" and web[at + 1] == "10.0.0.7,172.16.0.0/12"
    assert "--no-proxy-headers" not in web
    assert proxy_flags(" , ") == ["--no-proxy-headers"]


def _serve_and_ask(flags: list[str], headers: dict[str, str]) -> dict:
    """uvicorn (a real process, with `flags`) serving tests/orbit/asgi_echo.py; one GET on loopback."""
    import json
    import socket
    import subprocess
    import sys
    import time
    import urllib.request

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "tests.orbit.asgi_echo:application", "--host", "127.0.0.1",
         "--port", str(port), "--no-access-log", "--log-level", "warning", *flags],
        cwd=ROOT, env={k: v for k, v in __import__("os").environ.items() if k != "FORWARDED_ALLOW_IPS"},
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                request = urllib.request.Request(f"http://127.0.0.1:{port}/", headers=headers)
                with urllib.request.urlopen(request, timeout=2) as response:
                    return json.loads(response.read())
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise
                time.sleep(0.1)
    finally:
        server.terminate()
        server.wait(10)


def test_a_local_client_cannot_choose_its_address_or_scheme(monkeypatch):
    """The bypass: uvicorn trusts 127.0.0.1 by default, so X-Forwarded-For picked the per-IP key."""
    from orbit.run import proxy_flags

    monkeypatch.delenv("ORBIT_TRUSTED_PROXIES", raising=False)
    spoofed = {"X-Forwarded-For": "203.0.113.9", "X-Forwarded-Proto": "https"}
    assert _serve_and_ask(proxy_flags(), spoofed) == {"client": "127.0.0.1", "scheme": "http"}
    # a configured proxy is believed: the client and scheme it reports
    monkeypatch.setenv("ORBIT_TRUSTED_PROXIES", "127.0.0.1")
    assert _serve_and_ask(proxy_flags(), spoofed) == {"client": "203.0.113.9", "scheme": "https"}


@pytest.mark.parametrize(
    ("trusted", "expected"),
    [
        (None, ["--no-proxy-headers"]),
        ("", ["--no-proxy-headers"]),
        ("10.0.0.0/8, 192.168.1.1", ["--proxy-headers", "--forwarded-allow-ips", "10.0.0.0/8, 192.168.1.1"]),
        ("*", ["--proxy-headers", "--forwarded-allow-ips", "*"]),  # one argument, never a glob
    ],
)
def test_the_docker_image_passes_the_same_proxy_choice(trusted, expected):
    import json
    import os
    import subprocess

    line = next(line for line in (ROOT / "docker" / "Dockerfile").read_text().splitlines() if line.startswith("CMD"))
    shell, flag, script = json.loads(line[len("CMD"):])
    assert script.count("exec uvicorn ") == 1
    printing = script.replace("exec uvicorn ", "printf '%s\\n' ")
    env = {k: v for k, v in os.environ.items() if k != "ORBIT_TRUSTED_PROXIES"}
    if trusted is not None:
        env["ORBIT_TRUSTED_PROXIES"] = trusted
    args = subprocess.run([shell, flag, printing], cwd=ROOT, env=env, capture_output=True, text=True, check=True).stdout
    args = args.splitlines()
    assert args[args.index("--workers") + 2 : args.index("--no-access-log")] == expected
    assert ("--proxy-headers" in args) != ("--no-proxy-headers" in args)
