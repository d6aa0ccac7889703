"""The dashboard page, apart from its view: the query-string state, one page of rows, the
column headers and sorting, the quick and field filters and the page links.

The dashboard view and the CSV export share `DashboardQuery` (the same query string gives the
same prescriptions, through `Prescription.objects.visible_to`). This module builds a page for templates (URLs, labels), so it is an
interface module like the views (see docs/ARCHITECTURE.md, Layers).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.paginator import Page, Paginator
from django.db.models import QuerySet
from django.http import Http404, QueryDict
from django.urls import reverse
from django.utils.functional import cached_property

from requests_chat.selectors import unread_by_prescription

from .filters import (
    DEFAULT_SORT,
    FIELD_FILTERS,
    PAGE_SIZES,
    QUICK_FILTERS,
    RECORD_FILTERS,
    PrescriptionFilter,
    active_filters,
    canonical_params,
    with_params,
)
from .models import Prescription, SavedFilter

if TYPE_CHECKING:
    from accounts.models import User
    from portal.types import AuthedHttpRequest

COLUMNS = [
    ("patient", "Patient Name"),
    ("dob", "Date of Birth"),
    ("medication", "Medication"),
    ("status", "Status"),
    ("last_shipped", "Last Shipped"),
    ("provider", "Provider"),
    ("priority", "Priority"),
    ("chat", "Chat"),
]

PK_PLACEHOLDER = 987654321


def url_maker(name: str) -> Callable[[int], str]:
    """A function pk -> URL of `name`, reversing once per page rather than once per row."""
    pattern = reverse(name, args=[PK_PLACEHOLDER])
    return lambda pk: pattern.replace(str(PK_PLACEHOLDER), str(int(pk)))


def attach_chat(user: User, prescriptions: list[Prescription]) -> None:
    """Set `.unread` and `.chat_url` on each row: one query for the whole page."""
    unread = unread_by_prescription(user, [p.pk for p in prescriptions])
    make_url = url_maker("requests_chat:for_prescription")
    for rx in prescriptions:
        rx.unread = unread.get(rx.pk, 0)  # type: ignore[attr-defined]
        rx.chat_url = make_url(rx.pk)  # type: ignore[attr-defined]


class DashboardQuery:
    """What the query string asks for, in its short canonical form, and the matching rows."""

    def __init__(self, request: AuthedHttpRequest) -> None:
        self.request = request
        self.params = canonical_params(request.GET)
        self.canonical_url = (
            f"{request.path}?{self.params.urlencode()}" if self.params else request.path
        )

    @cached_property
    def visible(self) -> QuerySet[Prescription]:
        """The user's visible prescriptions (built once: it is not free to build)."""
        return Prescription.objects.visible_to(self.request.user).select_related(
            "patient", "prescriber"
        )

    @cached_property
    def filterset(self) -> PrescriptionFilter:
        """The visible prescriptions under the query string; a provider or patient filter
        naming a record the user can't see is a 404."""
        filterset = PrescriptionFilter(self.params, queryset=self.visible, request=self.request)
        if not filterset.is_valid() and any(name in filterset.errors for name in RECORD_FILTERS):
            raise Http404("No such provider or patient.")
        return filterset

    def is_canonical(self, query: QueryDict) -> bool:
        """A plain form GET carries every empty field; its short form is the shareable URL."""
        return self.params.urlencode() == query.urlencode()

    @property
    def sort(self) -> str:
        return self.filterset.sort_key if self.filterset.is_valid() else DEFAULT_SORT

    @property
    def page_size(self) -> int:
        try:
            size = int(self.params.get("per_page", ""))
        except ValueError:
            return settings.DASHBOARD_PAGE_SIZE
        return size if size in PAGE_SIZES else settings.DASHBOARD_PAGE_SIZE

    def page(self) -> tuple[Page, list[Prescription]]:
        """The requested page and its rows (with patient and prescriber)."""
        # Two steps: the page's ids (narrow rows, often straight from an index), then those rows
        # with their patient and prescriber. Sorting 50,000 joined rows to keep 25 is what's slow.
        paginator = Paginator(self.filterset.qs.values_list("pk", flat=True), self.page_size)
        page = paginator.get_page(self.params.get("page"))
        ids = list(page.object_list)
        # The same visible_to() queryset the ids came from (built once: it is not free to build).
        found = self.visible.in_bulk(ids)
        return page, [found[pk] for pk in ids if pk in found]

    def with_params(self, **changes: Any) -> str:
        return with_params(self.params, **changes)

    def columns(self) -> list[dict[str, str]]:
        """The column headers: which one sorts, which way, and the link that sorts by each."""
        sort = self.sort
        columns = []
        for key, label in COLUMNS:
            current = sort.removeprefix("-") == key
            descending = sort.startswith("-")
            columns.append(
                {
                    "key": key,
                    "label": label,
                    "aria_sort": ("descending" if descending else "ascending") if current else "",
                    "url": self.with_params(sort=f"-{key}" if current and not descending else key),
                }
            )
        return columns

    def quick_filters(self) -> list[dict[str, Any]]:
        """Each quick filter, pressed or not, with the link that toggles it."""
        chosen = self.params.getlist("quick")
        return [
            {
                "key": key,
                "label": label,
                "pressed": key in chosen,
                "url": self.with_params(
                    quick=([k for k in chosen if k != key] if key in chosen else [*chosen, key])
                    or None
                ),
            }
            for key, label in QUICK_FILTERS.items()
        ]

    def field_filters(self, user: User) -> list[dict[str, Any]]:
        fields = self.filterset.form.fields
        return [
            {
                "name": name,
                "label": fields[name].label,
                # One query for the provider list, whatever the template does with it.
                "choices": [(v, label) for v, label in fields[name].choices if v]  # type: ignore[attr-defined]
                if name in ("status", "provider")
                else [],
            }
            for name in FIELD_FILTERS
            if name != "provider" or not user.is_prescriber
        ]

    def page_links(self, page: Page) -> dict[str, str]:
        return {
            "previous": self.with_params(page=page.previous_page_number())
            if page.has_previous()
            else "",
            "next": self.with_params(page=page.next_page_number()) if page.has_next() else "",
        }

    def context(self, page: Page, rows: list[Prescription]) -> dict[str, Any]:
        """Everything `prescriptions/dashboard.html` shows."""
        request = self.request
        params = self.params
        filterset = self.filterset
        return {
            "page": page,
            "rows": rows,
            "params": params,
            "query": params.urlencode(),
            "columns": self.columns(),
            "quick_filters": self.quick_filters(),
            "field_filters": self.field_filters(request.user),
            "active_filters": active_filters(filterset, params),
            "errors": [
                (filterset.form.fields[name].label, error)
                for name, errors in filterset.errors.items()
                for error in errors
            ],
            # Hidden copies of the current state, so that adding a field filter keeps the others.
            "hidden": [
                (name, value) for name in params for value in params.getlist(name) if name != "page"
            ],
            "page_sizes": [(n, self.with_params(per_page=n)) for n in PAGE_SIZES],
            "per_page": page.paginator.per_page,
            "page_urls": self.page_links(page),
            "clear_url": self.with_params(**dict.fromkeys(("quick", *FIELD_FILTERS, "patient"))),
            "saved_filters": list(SavedFilter.objects.visible_to(request.user)),
            "sort": self.sort,
            "dashboard_url": request.path,
            # The column headers sort on wide screens; phones (no table header) get a menu.
            "sort_options": [
                (f"{prefix}{key}", f"{label} ({direction})")
                for key, label in COLUMNS
                for prefix, direction in (("", "ascending"), ("-", "descending"))
            ],
        }
