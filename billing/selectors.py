"""Billing reads shared by the patient pages, the Clinic area, exports and the benchmark."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.core.paginator import Page, Paginator
from django.db.models import IntegerField, OuterRef, QuerySet, Subquery, Sum, Value
from django.db.models.expressions import CombinedExpression
from django.db.models.functions import Coalesce
from django.utils import timezone

from .models import Invoice, LedgerEntry, Payment, Refund

if TYPE_CHECKING:
    from patient_portal.models import Chart

HISTORY_PAGE_SIZE = 25


@dataclass(frozen=True)
class LedgerRow:
    entry: LedgerEntry
    balance_cents: int  # the chart's balance right after this entry


def day_bounds(
    date_from: dt.date | None, date_to: dt.date | None
) -> tuple[dt.datetime | None, dt.datetime | None]:
    """[start of date_from, start of the day after date_to) in the current time zone."""
    tz = timezone.get_current_timezone()
    start = dt.datetime.combine(date_from, dt.time.min, tzinfo=tz) if date_from else None
    end = (
        dt.datetime.combine(date_to + dt.timedelta(days=1), dt.time.min, tzinfo=tz)
        if date_to
        else None
    )
    return start, end


def ledger_in_range(
    chart: Chart, date_from: dt.date | None = None, date_to: dt.date | None = None
) -> tuple[QuerySet[LedgerEntry], dt.datetime | None]:
    start, end = day_bounds(date_from, date_to)
    entries = LedgerEntry.objects.filter(chart=chart)
    if start:
        entries = entries.filter(occurred_at__gte=start)
    if end:
        entries = entries.filter(occurred_at__lt=end)
    return entries.order_by("-occurred_at", "-pk"), start


def with_running_balance(chart: Chart, entries: list[LedgerEntry]) -> list[LedgerRow]:
    """Rows with the balance after each (kept on the entry by services.post_entry)."""
    return [LedgerRow(entry, entry.balance_after_cents) for entry in entries]


def history_page(
    chart: Chart,
    *,
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
    page_number: object = 1,
) -> tuple[Page[LedgerEntry], list[LedgerRow]]:
    """One page of Billing History (25 rows, newest first) with running balances."""
    entries, _start = ledger_in_range(chart, date_from, date_to)
    page: Page[LedgerEntry] = Paginator(entries, HISTORY_PAGE_SIZE).get_page(page_number)  # type: ignore[arg-type]
    return page, with_running_balance(chart, list(page.object_list))


def paid_on_invoices_subquery() -> CombinedExpression:
    paid = (
        Payment.objects.filter(invoice=OuterRef("pk"), status=Payment.Status.SUCCEEDED)
        .order_by()
        .values("invoice")
        .annotate(s=Sum("amount_cents"))
        .values("s")
    )
    refunded = (
        Refund.objects.filter(payment__invoice=OuterRef("pk"), status=Refund.Status.SUCCEEDED)
        .order_by()
        .values("payment__invoice")
        .annotate(s=Sum("amount_cents"))
        .values("s")
    )
    return Coalesce(
        Subquery(paid, output_field=IntegerField()), Value(0), output_field=IntegerField()
    ) - Coalesce(
        Subquery(refunded, output_field=IntegerField()), Value(0), output_field=IntegerField()
    )


def with_amounts(invoices: QuerySet[Invoice]) -> QuerySet[Invoice]:
    """Annotate `paid_cents` (net of refunds) on an Invoice queryset, in the same query."""
    return invoices.annotate(paid_cents=paid_on_invoices_subquery())


def balance_subquery(chart_ref: str = "pk") -> Coalesce:
    """The chart's balance as a subquery (its newest entry's, one index probe per row)."""
    latest = (
        LedgerEntry.objects.filter(chart=OuterRef(chart_ref))
        .order_by("-occurred_at", "-pk")
        .values("balance_after_cents")[:1]
    )
    return Coalesce(Subquery(latest, output_field=IntegerField()), Value(0))


def open_invoices_page(clinic_id: int, number: str | None, per_page: int) -> Page[Invoice]:
    """One page of the clinic's open invoices. The page's ids are chosen on the bare table
    (ORDER BY/OFFSET on the index) and only those rows get the paid amounts and balances: with
    the subqueries in the paged query PostgreSQL computed them for every row the OFFSET skipped
    (page 400 of 20,000 open invoices: 71 ms; now as fast as page 1)."""
    ids = (
        Invoice.objects.filter(chart__clinic_id=clinic_id, status=Invoice.Status.OPEN)
        .order_by("issued_at", "pk")
        .values_list("pk", flat=True)
    )
    page: Page[Any] = Paginator(ids, per_page).get_page(number)
    chosen: list[int] = list(page.object_list)
    rows = open_invoices_of_clinic(clinic_id).filter(pk__in=chosen) if chosen else []
    page.object_list = list(rows)  # ids were paged; the page holds the invoices
    return page


def open_invoices_of_clinic(clinic_id: int) -> QuerySet[Invoice]:
    """The clinic's open invoices, oldest first, with what is paid and the chart's balance."""
    return with_amounts(
        Invoice.objects.filter(chart__clinic_id=clinic_id, status=Invoice.Status.OPEN)
        .select_related("chart")
        .annotate(chart_balance=balance_subquery("chart_id"))
        .order_by("issued_at", "pk")
    )
