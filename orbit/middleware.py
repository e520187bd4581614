"""Process-level endpoints that answer on any host, before tenant routing."""

from django.http import JsonResponse

from orbit import health


class HealthCheckMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path == "/healthz":
            return JsonResponse({"status": "ok"})
        if request.path == "/readyz":
            checks = health.readiness()
            ok = all(c["ok"] for c in checks.values())
            return JsonResponse({"status": "ok" if ok else "unavailable", "checks": checks}, status=200 if ok else 503)
        return self.get_response(request)
