from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import render

from audit.log import record
from audit.models import AuditEvent
from portal.types import AuthedHttpRequest

from .models import Prescription


@login_required
def dashboard(request: AuthedHttpRequest) -> HttpResponse:
    prescriptions = (
        Prescription.objects.visible_to(request.user)
        .select_related("patient", "prescriber")
        .order_by("patient__last_name", "patient__first_name", "pk")
    )
    page = Paginator(prescriptions, settings.DASHBOARD_PAGE_SIZE).get_page(request.GET.get("page"))
    record(request, AuditEvent.Action.LIST, description=f"dashboard page {page.number}")
    return render(request, "prescriptions/dashboard.html", {"page": page})
