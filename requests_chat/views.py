from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.vary import vary_on_headers

from audit.log import record
from audit.models import AuditEvent
from portal.types import AuthedHttpRequest
from prescriptions.models import Prescription

from .models import Request
from .selectors import unread_by_request


@login_required
@vary_on_headers("HX-Request")
def for_prescription(request: AuthedHttpRequest, prescription_pk: int) -> HttpResponse:
    """The chat pop-up of a dashboard/profile row: its request, or a link to start one."""
    prescription = get_object_or_404(
        Prescription.objects.visible_to(request.user).select_related("patient"), pk=prescription_pk
    )
    chat = Request.objects.visible_to(request.user).filter(prescription=prescription).first()
    unread = unread_by_request(request.user, [chat.pk]).get(chat.pk, 0) if chat else 0
    record(request, AuditEvent.Action.VIEW, prescription, patient=prescription.patient_id,
           description="request pop-up")
    template = "requests_chat/for_prescription.html"
    if request.htmx:
        template += "#rx-chat"
    return render(request, template, {"prescription": prescription, "chat": chat, "unread": unread})


def request_list(request):  # replaced below
    raise NotImplementedError


create = prescription_options = detail = send = messages_since = document = request_list
