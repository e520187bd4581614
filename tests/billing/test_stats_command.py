"""python manage.py stats: table and JSON; bad inputs give one clear line and a non-zero exit."""

from __future__ import annotations

import io
import json
import subprocess
import sys

import pytest
from django.core.management import CommandError, call_command

from billing import meters
from tests.billing.conftest import new_key


def run(*args) -> str:
    out = io.StringIO()
    call_command("stats", *args, stdout=out)
    return out.getvalue()


def test_table_and_json(db, tenant):
    meters.record_many([meters.Event(tenant.pk, "conversation_started", 1, new_key()) for _ in range(3)])
    table = run("--tenant", "alpha", "--period", "this-month")
    assert "conversation_started" in table and "10000" in table and "unlimited" in table
    payload = json.loads(run("--tenant", "alpha", "--period", "this-month", "--format", "json"))
    row = {r["metric"]: r for r in payload["usage"]}["conversation_started"]
    assert (row["used"], row["limit"], payload["plan"]) == (3, 10000, "professional")
    assert json.loads(run("--tenant", "alpha", "--period", "last-month", "--format", "json"))["state"] in ("closing", "final")


@pytest.mark.parametrize(
    "args, message",
    [
        (["--tenant", "nobody", "--period", "this-month"], "unknown organization 'nobody'"),
        (["--tenant", "alpha", "--period", "2026-13"], "invalid period"),
        (["--tenant", "alpha", "--period", "someday"], "invalid period"),
        (["--tenant", "alpha", "--period", "2999-01"], "in the future"),
    ],
)
def test_bad_inputs(db, tenant, args, message):
    with pytest.raises(CommandError, match=message):
        run(*args)


def test_bad_input_from_the_shell_is_one_line_and_non_zero(live_db):
    proc = subprocess.run(
        [sys.executable, "manage.py", "stats", "--tenant", "alpha", "--period", "nope"],
        capture_output=True, text=True, timeout=60,
        env={**__import__("os").environ, "DJANGO_SETTINGS_MODULE": "orbit.settings_test"},
    )
    assert proc.returncode != 0
    assert proc.stderr.strip().count("\n") == 0 and "invalid period" in proc.stderr
    proc = subprocess.run([sys.executable, "manage.py", "stats", "--tenant", "alpha", "--format", "xml"],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode != 0 and "invalid choice" in proc.stderr
