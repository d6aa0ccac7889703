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
from django.core.exceptions import EmptyResultSet
from django.core.paginator import Page, Paginator
from django.db import connection
from django.db.models import QuerySet
from django.http import Http404, QueryDict
from django.urls import reverse
from django.utils.functional import cached_property

from requests_chat.selectors import unread_by_prescription, with_unread_count

from .filters import (
    DEFAULT_SORT,
    FIELD_FILTERS,
    PAGE_SIZES,
    QUICK_FILTERS,
    RECORD_FILTERS,
    PrescriptionFilter,
    active_filters,
    apply_sort,
    canonical_params,
    with_params,
)
from .models import Prescriber, Prescription, SavedFilter, reachable_prescriber_ids

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
# Beyond this many matching rows (by PostgreSQL's planner estimate) the page says "about N"
# instead of counting them: an exact COUNT(*) grows with the book, the estimate does not.
EXACT_COUNT_UP_TO = 10_000
# A user reaching more prescribers than this gets a name search instead of a provider menu.
PROVIDER_MENU_UP_TO = 50


def planner_estimate(queryset: QuerySet[Any]) -> int | None:
    """PostgreSQL's estimate of the rows `queryset` returns (planning only, nothing is read);
    None on other databases."""
    if connection.vendor != "postgresql":
        return None
    try:
        sql, params = queryset.query.sql_with_params()
    except EmptyResultSet:  # e.g. a user who reaches no prescriber
        return 0
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}", params)
        plan = cursor.fetchone()[0]
    if isinstance(plan, str):  # a driver that does not decode json
        import json  # noqa: PLC0415

        plan = json.loads(plan)
    return int(plan[0]["Plan"]["Plan Rows"])


def about(count: int) -> str:
    """50,128 -> "about 50,000" (two significant figures)."""
    digits = len(str(count))
    return f"about {round(count, -(digits - 2)) if digits > 2 else count:,}"


class EstimatingPaginator(Paginator):
    """A paginator that takes the planner's estimate for the count when it is large.

    `estimated` says which it is. The rows of a page are always exact; a page shorter than the
    page size is the last one, and it makes the count exact again.
    """

    estimated = False

    @cached_property
    def count(self) -> int:
        estimate = planner_estimate(self.object_list.order_by())  # type: ignore[attr-defined]
        if estimate is not None and estimate > EXACT_COUNT_UP_TO:
            self.estimated = True
            return estimate
        return super().count

    def settle(self, page: Page, found: int) -> None:
        """Called with the ids found on `page`: on a short page the count is known exactly."""
        if self.estimated and found < self.per_page:
            self.estimated = False
            self.__dict__["count"] = (page.number - 1) * self.per_page + found
            self.__dict__.pop("num_pages", None)
            self.__dict__.pop("page_range", None)


def url_maker(name: str) -> Callable[[int], str]:
    """A function pk -> URL of `name`, reversing once per page rather than once per row."""
    pattern = reverse(name, args=[PK_PLACEHOLDER])
    return lambda pk: pattern.replace(str(PK_PLACEHOLDER), str(int(pk)))


def attach_chat(user: User, prescriptions: list[Prescription], *, counted: bool = False) -> None:
    """Set `.unread` and `.chat_url` on each row: one query for the whole page, none when the
    rows were `counted` already (loaded through `with_unread_count`)."""
    unread = {} if counted else unread_by_prescription(user, [p.pk for p in prescriptions])
    make_url = url_maker("requests_chat:for_prescription")
    for rx in prescriptions:
        if not counted:
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
        """The requested page and its rows (with patient, prescriber and `.unread`)."""
        # The page's ids (narrow rows, often straight from an index) in a subquery, and only
        # those rows joined to their patient and prescriber, in one statement: sorting 50,000
        # joined rows to keep 25 is what's slow, and a second round trip is not free either.
        ids = self.filterset.qs.values_list("pk", flat=True)
        paginator = EstimatingPaginator(ids, self.page_size)
        page = paginator.get_page(self.params.get("page"))
        # The same visible_to() queryset the ids came from (built once: it is not free to build),
        # in the page's order (the sort's columns, the primary key last: a total order).
        # Each row's unread count comes in the same statement (see `attach_chat(counted=True)`).
        rows = list(
            apply_sort(
                with_unread_count(self.request.user, self.visible.filter(pk__in=page.object_list)),
                self.sort,
                self.request.user,
            )
        )
        paginator.settle(page, len(rows))
        return page, rows

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
        # A menu of the reachable prescribers while it is short (one plain query, no cursor),
        # a name search beyond that: the access gate's list is already known for this request.
        skipped = {"provider", "provider_name"} if user.is_prescriber else set()
        provider_menu: list[tuple[Any, str]] = []
        if not user.is_prescriber:
            reachable = reachable_prescriber_ids(user)
            if len(reachable) > PROVIDER_MENU_UP_TO:
                skipped.add("provider")
            else:
                skipped.add("provider_name")
                provider_menu = [
                    (pk, f"{first} {last}".strip())
                    for pk, first, last in Prescriber.objects.filter(pk__in=reachable)
                    .order_by("last_name", "first_name", "pk")
                    .values_list("pk", "first_name", "last_name")
                ]
        return [
            {
                "name": name,
                "label": fields[name].label,
                "choices": provider_menu
                if name == "provider"
                else [(v, label) for v, label in fields[name].choices if v]  # type: ignore[attr-defined]
                if name == "status"
                else [],
            }
            for name in FIELD_FILTERS
            if name not in skipped
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
            "count_label": about(page.paginator.count)
            if getattr(page.paginator, "estimated", False)
            else str(page.paginator.count),
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
