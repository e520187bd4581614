"""The language of a logged-in person is theirs (User.language), wherever they log in;
otherwise LocaleMiddleware's choice (cookie, then the browser's Accept-Language) stands."""

from django.conf import settings
from django.utils import translation


class UserLanguageMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response
        self.codes = {code for code, _label in settings.LANGUAGES}

    def __call__(self, request):
        user = getattr(request, "user", None)
        language = getattr(user, "language", "") if user is not None and user.is_authenticated else ""
        if language in self.codes:
            translation.activate(language)
            request.LANGUAGE_CODE = language
        response = self.get_response(request)
        if language in self.codes:
            response.headers.setdefault("Content-Language", language)
        return response
