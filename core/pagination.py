from typing import Any

from rest_framework.exceptions import ValidationError
from rest_framework.pagination import CursorPagination


class IdCursorPagination(CursorPagination):
    """Cursor pagination in creation order; stable under inserts, cheap at any depth.

    A ``page_size`` that is not a positive whole number is a 400 naming it (DRF would quietly use
    the default); one above ``max_page_size`` is capped."""

    ordering = "id"
    page_size = 100
    page_size_query_param = "page_size"
    max_page_size = 1000

    def get_page_size(self, request: Any) -> int | None:
        values = request.query_params.getlist(self.page_size_query_param)
        for raw in values:
            if not raw.isdigit() or int(raw) < 1:
                raise ValidationError({"page_size": ["must be a whole number from 1"]})
        return super().get_page_size(request)
