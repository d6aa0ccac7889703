"""The invoice and superbill PDFs (portal.pdf.PortalPDF: fonts, page x of y, tables)."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from django.db.models import Sum
from django.utils import timezone

from portal.pdf import PortalPDF

from .models import BillingProfile, Invoice, InvoiceLine, LedgerEntry
from .money import format_cents

if TYPE_CHECKING:
    from patient_portal.models import Chart


def _clinic_pairs(profile: BillingProfile) -> list[tuple[str, object]]:
    return [
        ("Clinic", profile.display_name),
        ("Address", profile.address or "—"),
        ("Phone", profile.phone or profile.clinic.phone or "—"),
        ("Tax ID (EIN)", profile.tax_id or "—"),
        ("Group NPI", profile.npi or "—"),
    ]


def _provider_npi(chart: Chart) -> str:
    prescriber = chart.provider.prescriber
    return prescriber.npi if prescriber is not None else ""


def _patient_pairs(chart: Chart) -> list[tuple[str, object]]:
    born = chart.date_of_birth.strftime("%b %d, %Y") if chart.date_of_birth else "—"
    return [("Patient", chart.full_name), ("Date of birth", born)]


def invoice_pdf(invoice: Invoice, *, paid_cents: int) -> bytes:
    chart = invoice.chart
    profile = BillingProfile.for_clinic(chart.clinic)
    doc = PortalPDF(
        title=f"Invoice {invoice.number}",
        subtitle=profile.display_name,
        footer_note=f"{invoice.number} · {chart.full_name}",
    )
    doc.key_values(
        [
            ("Status", invoice.get_status_display()),
            (
                "Issued",
                timezone.localtime(invoice.issued_at).strftime("%b %d, %Y")
                if invoice.issued_at
                else "—",
            ),
            ("Due", invoice.due_on.strftime("%b %d, %Y") if invoice.due_on else "—"),
            *_patient_pairs(chart),
            ("Provider", chart.provider.display_name),
            ("Provider NPI", _provider_npi(chart) or "—"),
        ]
    )
    doc.heading("Services")
    doc.data_table(
        ["Date of service", "Description", "CPT", "ICD-10", "Units", "Amount"],
        [
            (
                line.service_date.strftime("%m/%d/%Y"),
                line.description,
                line.cpt_code,
                ", ".join(line.icd10_list),
                line.units,
                format_cents(line.amount_cents),
            )
            for line in invoice.lines.all()
        ],
        widths=[26, 52, 16, 30, 12, 24],
        align_right=(4, 5),
    )
    doc.key_values(
        [
            ("Total", format_cents(invoice.total_cents)),
            ("Paid", format_cents(paid_cents)),
            (
                "Amount due",
                format_cents(
                    max(invoice.total_cents - paid_cents, 0)
                    if invoice.status != Invoice.Status.VOID
                    else 0
                ),
            ),
        ]
    )
    doc.heading("Billed by")
    doc.key_values(_clinic_pairs(profile))
    return doc.bytes()


def superbill_pdf(chart: Chart, *, date_from: dt.date, date_to: dt.date) -> bytes:
    """Services in [date_from, date_to] (dates of service) on issued invoices, with what was
    charged and paid, and the identifiers an insurer needs to reimburse the patient."""
    profile = BillingProfile.for_clinic(chart.clinic)
    lines = list(
        InvoiceLine.objects.filter(
            invoice__chart=chart,
            invoice__status__in=[Invoice.Status.OPEN, Invoice.Status.PAID],
            service_date__gte=date_from,
            service_date__lte=date_to,
        )
        .select_related("invoice")
        .order_by("service_date", "pk")
    )
    paid = LedgerEntry.objects.filter(
        chart=chart, kind__in=[LedgerEntry.Kind.PAYMENT, LedgerEntry.Kind.REFUND]
    )
    invoice_ids = {line.invoice_id for line in lines}
    paid_total = -int(
        paid.filter(invoice_id__in=invoice_ids).aggregate(s=Sum("amount_cents"))["s"] or 0
    )
    doc = PortalPDF(
        title="Superbill",
        subtitle=profile.display_name,
        footer_note=f"Superbill · {chart.full_name} · {date_from:%m/%d/%Y}–{date_to:%m/%d/%Y}",
    )
    doc.paragraph(
        "An itemised statement of services for submission to your insurance company for "
        "reimbursement."
    )
    doc.heading("Clinic")
    doc.key_values(_clinic_pairs(profile))
    doc.heading("Rendering provider")
    doc.key_values(
        [("Provider", chart.provider.display_name), ("Provider NPI", _provider_npi(chart) or "—")]
    )
    doc.heading("Patient")
    doc.key_values(
        [
            *_patient_pairs(chart),
            ("Dates of service", f"{date_from:%m/%d/%Y} to {date_to:%m/%d/%Y}"),
        ]
    )
    doc.heading("Services")
    if lines:
        doc.data_table(
            ["Date of service", "Description", "CPT", "ICD-10", "Units", "Charged"],
            [
                (
                    line.service_date.strftime("%m/%d/%Y"),
                    line.description,
                    line.cpt_code,
                    ", ".join(line.icd10_list),
                    line.units,
                    format_cents(line.amount_cents),
                )
                for line in lines
            ],
            widths=[26, 52, 16, 30, 12, 24],
            align_right=(4, 5),
        )
    else:
        doc.paragraph("No services were billed in these dates.")
    doc.key_values(
        [
            ("Total charged", format_cents(sum(line.amount_cents for line in lines))),
            ("Total paid", format_cents(paid_total)),
        ]
    )
    return doc.bytes()
