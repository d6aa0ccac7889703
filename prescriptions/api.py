"""The pharmacy system's JSON ingest endpoint (bearer token per pharmacy, idempotent upsert)."""

import json

from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from audit.log import record
from audit.models import AuditEvent

from .importer import Importer, ImportFileError, iter_records
from .models import IngestToken

MAX_RECORDS = 5000


@csrf_exempt  # machine-to-machine; authenticated by the bearer token, never by cookies
@require_POST
def ingest(request: HttpRequest) -> JsonResponse:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    found = (
        IngestToken.authenticate(token.strip()) if scheme.lower() == "bearer" and token else None
    )
    if found is None:
        return JsonResponse({"error": "A valid bearer token is required."}, status=401)
    if request.content_type != "application/json":
        return JsonResponse({"error": "Send application/json."}, status=415)
    try:
        data = json.loads(request.body)
        records = list(iter_records(data))
    except (json.JSONDecodeError, UnicodeDecodeError):
        return JsonResponse({"error": "The body is not valid JSON."}, status=400)
    except ImportFileError as exc:
        return JsonResponse({"error": str(exc)}, status=400)
    if len(records) > MAX_RECORDS:
        return JsonResponse({"error": f"At most {MAX_RECORDS} records per request."}, status=413)
    result = Importer(pharmacy=found.pharmacy).run(records)
    record(
        request,
        AuditEvent.Action.IMPORT,
        found,
        description=f"ingest: {result.created} created, {result.updated} updated, {result.unchanged} unchanged, {result.error_count} rejected",
    )
    return JsonResponse(result.as_dict(), status=200)
