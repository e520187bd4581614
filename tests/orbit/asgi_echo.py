"""A bare ASGI app that answers with what uvicorn put in the scope about the client:
tests/orbit/test_uvicorn_options.py serves it with make run's proxy flags."""

import json


async def application(scope, receive, send):
    if scope["type"] != "http":
        return
    body = json.dumps({"client": scope["client"][0], "scheme": scope["scheme"]}).encode()
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json")]})
    await send({"type": "http.response.body", "body": body})
