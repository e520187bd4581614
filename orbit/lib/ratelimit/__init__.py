"""Rate limiting below the apps (imports no app): fixed-window counters on Redis counted in
one round trip, the client's address behind trusted proxies, the 429 answer and an in-memory
token bucket for websocket frames. Billing decides the rules (plans, per tenant); the ASGI
edge (orbit.edge) and billing's middleware apply them; chat builds its own error frames."""
