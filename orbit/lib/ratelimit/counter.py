"""Fixed-window rate limits on the shared Redis, every window of a request counted in ONE
round trip: a Lua script (INCR + EXPIRE per window, stopping at the first window that refuses;
django-ratelimit's fixed windows: the same per-key jitter, the same `count > quota` rule).
Sync (`check`, `peek`) and asyncio (`check_async`, `peek_async`, for the ASGI edge). A Redis
error fails open (settings.RATELIMIT_FAIL_OPEN) with a logged warning.

Keys carry the tenant (its schema) and keep the prefix they had when billing held this code
(`billing:rl:`), so a deploy does not reset live windows."""

from __future__ import annotations

import logging
import re
import time
import weakref
import zlib
from dataclasses import dataclass

from django.conf import settings

from orbit.lib.shared_cache import shared_cache

log = logging.getLogger(__name__)

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_RATE = re.compile(r"^(\d+)/(\d*)([smhdSMHD])?$")


def parse_rate(rate: str) -> tuple[int, int]:
    """(quota, window seconds) of "5/m", "30/5m", "100/10s" (django-ratelimit's rate syntax)."""
    found = _RATE.match(rate.strip())
    if found is None:
        raise ValueError(f"not a rate: {rate!r}")
    count, multiplier, unit = found.groups()
    return int(count), int(multiplier or 1) * _UNITS[(unit or "s").lower()]


def rule_value(*, schema: str, scope: str, ident: str = "") -> str:
    """What a window is about: tenant schema, scope (api, widget, login-ip …), ident (IP, account)."""
    return f"{schema}|{scope}|{ident}"


def counter_key(*, schema: str, scope: str, ident: str = "", policy: str, quota: int, window: int,
                window_end: int) -> str:
    """One window's counter: what it is about, the policy and its rate, and the end of the
    fixed window it counts (so a new window is a new key)."""
    return f"billing:rl:{rule_value(schema=schema, scope=scope, ident=ident)}:{policy}:{quota}/{window}s:{window_end}"


@dataclass(frozen=True)
class Rule:
    name: str  # the policy name in the headers
    schema: str  # the tenant, in every key
    scope: str  # api, widget, login-ip, login-account
    ident: str  # visitor IP, account, or ""
    quota: int
    window: int  # seconds

    def window_end(self, now: int) -> int:
        """End of the current fixed window, with a per-key jitter (django-ratelimit's rule)."""
        if self.window == 1:
            return now
        value = rule_value(schema=self.schema, scope=self.scope, ident=self.ident)
        end = now - (now % self.window) + (zlib.crc32(f"{self.name}{value}".encode()) % self.window)
        return end + self.window if end < now else end

    def key(self, window_end: int) -> str:
        return shared_cache().make_key(counter_key(
            schema=self.schema, scope=self.scope, ident=self.ident, policy=self.name, quota=self.quota,
            window=self.window, window_end=window_end))


@dataclass
class Outcome:
    rule: Rule
    remaining: int
    reset: int
    limited: bool


def rate_rule(name: str, schema: str, scope: str, ident: str, rate: str) -> Rule:
    quota, window = parse_rate(rate)
    return Rule(name, schema, scope, ident, quota, window)


# KEYS: one counter per window; ARGV: their TTLs, then their quotas. Counts in order and
# stops after the first window that refuses (the later ones are not charged).
COUNT_SCRIPT = """
local n = #KEYS
local out = {}
for i = 1, n do
  local c = redis.call('INCR', KEYS[i])
  if c == 1 then redis.call('EXPIRE', KEYS[i], tonumber(ARGV[i])) end
  out[i] = c
  if c > tonumber(ARGV[n + i]) then break end
end
return out
"""


def enabled() -> bool:
    return getattr(settings, "RATELIMIT_ENABLE", True)


def _prepare(rules: list[Rule]) -> tuple[int, list[int], list[str], list[int]]:
    now = int(time.time())
    ends = [r.window_end(now) for r in rules]
    keys = [r.key(end) for r, end in zip(rules, ends, strict=True)]
    args = [max(1, end - now) + 1 for end in ends] + [r.quota for r in rules]
    return now, ends, keys, args


def _outcomes(rules: list[Rule], now: int, ends: list[int], counts) -> list[Outcome]:
    outcomes = []
    for rule, end, count in zip(rules, ends, counts, strict=False):
        count = int(count)
        outcomes.append(Outcome(rule, max(0, rule.quota - count), max(1, end - now), count > rule.quota))
    return outcomes


def _failed(rules: list[Rule], exc: Exception) -> list[Outcome]:
    if getattr(settings, "RATELIMIT_FAIL_OPEN", True):
        log.warning("rate limit check failed open: %s", exc)
        return []
    rule = rules[0]
    return [Outcome(rule, 0, rule.window, True)]


def _peeked(rules: list[Rule], now: int, ends: list[int], counts) -> list[Outcome]:
    outcomes = []
    for rule, end, count in zip(rules, ends, counts, strict=True):
        count = int(count or 0)
        outcomes.append(Outcome(rule, max(0, rule.quota - count), max(1, end - now), count >= rule.quota))
    return outcomes


def peek(rules: list[Rule]) -> list[Outcome]:
    """The windows' counts without counting (one MGET): `limited` when a window is already
    full, so the next call would go over. [] when disabled or failed open."""
    if not rules or not enabled():
        return []
    now, ends, keys, _args = _prepare(rules)
    try:
        counts = shared_cache().client.get_client(write=False).mget(keys)
    except Exception as exc:  # noqa: BLE001
        return _failed(rules, exc)
    return _peeked(rules, now, ends, counts)


async def peek_async(rules: list[Rule], redis_client) -> list[Outcome]:
    """`peek` on an asyncio Redis client (orbit.edge)."""
    if not rules or not enabled():
        return []
    now, ends, keys, _args = _prepare(rules)
    try:
        counts = await redis_client.mget(keys)
    except Exception as exc:  # noqa: BLE001
        return _failed(rules, exc)
    return _peeked(rules, now, ends, counts)


def full(outcomes: list[Outcome]) -> Outcome | None:
    """The first outcome whose window refuses, if any."""
    return next((o for o in outcomes if o.limited), None)


_sync_scripts: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def check(rules: list[Rule]) -> list[Outcome]:
    """Count the request against `rules` in one Redis round trip; [] when disabled or
    failed open. The last outcome is the refusing one, if any."""
    if not rules or not enabled():
        return []
    now, ends, keys, args = _prepare(rules)
    try:
        client = shared_cache().client.get_client(write=True)
        script = _sync_scripts.get(client)
        if script is None:
            script = _sync_scripts[client] = client.register_script(COUNT_SCRIPT)
        counts = script(keys=keys, args=args)
    except Exception as exc:  # noqa: BLE001 — any Redis trouble fails open
        return _failed(rules, exc)
    return _outcomes(rules, now, ends, counts)


async def check_async(rules: list[Rule], redis_client) -> list[Outcome]:
    """`check` on an asyncio Redis client (orbit.edge): one round trip, no thread hop."""
    if not rules or not enabled():
        return []
    now, ends, keys, args = _prepare(rules)
    try:
        counts = await _async_script(redis_client)(keys=keys, args=args)
    except Exception as exc:  # noqa: BLE001
        return _failed(rules, exc)
    return _outcomes(rules, now, ends, counts)


_async_scripts: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _async_script(redis_client):
    script = _async_scripts.get(redis_client)
    if script is None:
        script = _async_scripts[redis_client] = redis_client.register_script(COUNT_SCRIPT)
    return script


def tightest(outcomes: list[Outcome]) -> Outcome:
    limited = [o for o in outcomes if o.limited]
    return limited[0] if limited else min(outcomes, key=lambda o: (o.remaining, -o.reset))
