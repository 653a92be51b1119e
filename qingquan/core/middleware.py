"""Language choice: Chinese first, whatever the browser asks, until the user switches."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest
from django.middleware.locale import LocaleMiddleware
from django.utils import translation

# Machine interfaces keep HTTP's language negotiation: a partner system or script asking
# for English error messages gets them.
NEGOTIATED_PREFIXES = ("/api/", "/open311/", "/telephony/events")


class ChineseFirstLocaleMiddleware(LocaleMiddleware):
    """Pages are in Simplified Chinese (the hotline's language) unless the user chose
    another language with the language switch, which Django remembers in its language
    cookie. A browser's Accept-Language is ignored on pages: staff PCs set up in English
    must still show the Chinese interface the hotline works in."""

    def process_request(self, request: HttpRequest) -> None:
        if request.path_info.startswith(NEGOTIATED_PREFIXES):
            super().process_request(request)
            return
        chosen = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME, "")
        try:
            language = translation.get_supported_language_variant(chosen) if chosen else ""
        except LookupError:
            language = ""
        translation.activate(language or settings.LANGUAGE_CODE)
        request.LANGUAGE_CODE = translation.get_language()
