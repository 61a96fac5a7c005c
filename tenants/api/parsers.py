"""The API's JSON parser: DRF's, with a body nested too deeply for Python's parser answered as 400.

`[[[[…` a hundred thousand deep makes json raise RecursionError (not ValueError, which DRF turns into a
ParseError itself). REST_FRAMEWORK["DEFAULT_PARSER_CLASSES"] names this class first."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _
from rest_framework import parsers
from rest_framework.exceptions import ParseError


class JSONParser(parsers.JSONParser):
    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError(_("The JSON body is nested too deeply.")) from None
