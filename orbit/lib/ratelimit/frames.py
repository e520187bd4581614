"""A token bucket per websocket connection, in memory (a connection lives in one process):
`rate` frames a second refill up to `burst`. The consumer builds its own error frame."""

from __future__ import annotations

import time


class TokenBucket:
    def __init__(self, rate: float, burst: int, *, clock=time.monotonic):
        self.rate = float(rate)
        self.burst = int(burst)
        if self.rate <= 0 or self.burst < 1:
            raise ValueError("rate must be > 0 and burst >= 1")
        self._clock = clock
        self._tokens = float(self.burst)
        self._stamp = clock()
        self.refused = 0

    def _refill(self) -> None:
        now = self._clock()
        self._tokens = min(self.burst, self._tokens + (now - self._stamp) * self.rate)
        self._stamp = now

    def allow(self, cost: float = 1.0) -> bool:
        self._refill()
        if self._tokens >= cost:
            self._tokens -= cost
            return True
        self.refused += 1
        return False

    def retry_after(self, cost: float = 1.0) -> float:
        self._refill()
        return max(0.0, (cost - self._tokens) / self.rate)
