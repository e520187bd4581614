"""dj-stripe's webhook view, with one guard in front (orbit/urls_public.py routes to it)."""

from __future__ import annotations

import json

from django.http import HttpResponseBadRequest
from djstripe.views import ProcessWebhookView


class WebhookView(ProcessWebhookView):
    """dj-stripe's endpoint (signature check, trigger log, processing), except that a body
    which is JSON but not an object (`null`, `[]`, `5`) is answered 400 at once: dj-stripe
    2.11 would fail on it with a TypeError and answer 500."""

    def post(self, request, uuid):
        try:
            body = json.loads(request.body)
        except ValueError:
            body = {}  # not JSON: dj-stripe refuses it (400) and logs the attempt
        if not isinstance(body, dict):
            return HttpResponseBadRequest()
        return super().post(request, uuid)
