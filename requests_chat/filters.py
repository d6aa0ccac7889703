"""The Requests list's search and "Unread only" filter (django-filter, as the dashboard)."""

from __future__ import annotations

import django_filters
from django import forms
from django.db.models import Q, QuerySet

from portal.types import AuthedHttpRequest

from .models import Request
from .selectors import prescription_ids_with_unread

# Words beyond this are ignored: a search box, not a query language.
MAX_SEARCH_WORDS = 5


class RequestFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(
        method="filter_search",
        label="Search",
        widget=forms.TextInput(
            attrs={"type": "search", "placeholder": "Patient name, medication or Rx number"}
        ),
    )
    unread = django_filters.BooleanFilter(
        method="filter_unread", label="Unread only", widget=forms.CheckboxInput
    )

    # The Requests page builds it with the signed-in user's request.
    request: AuthedHttpRequest | None

    class Meta:
        model = Request
        fields: list[str] = []

    def filter_search(
        self, queryset: QuerySet[Request], name: str, value: str
    ) -> QuerySet[Request]:
        """Every word must match a patient's first or last name (start), the medication (any
        part) or the Rx number (start): "smith humira" finds Jane Smith's Humira request."""
        for word in value[:200].split()[:MAX_SEARCH_WORDS]:
            queryset = queryset.filter(
                Q(prescription__patient__first_name__istartswith=word)
                | Q(prescription__patient__last_name__istartswith=word)
                | Q(prescription__medication_name__icontains=word)
                | Q(prescription__rx_number__istartswith=word)
            )
        return queryset

    def filter_unread(
        self, queryset: QuerySet[Request], name: str, value: bool | None
    ) -> QuerySet[Request]:
        if not value:
            return queryset
        assert self.request is not None  # the Requests page passes its request
        return queryset.filter(prescription_id__in=prescription_ids_with_unread(self.request.user))
