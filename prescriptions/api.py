"""The pharmacy system's JSON ingest endpoint (bearer token per pharmacy, idempotent upsert).

Every answer is JSON. 200: every record was applied. 422: some records were refused, listed by
record number with the field at fault; the others were applied (each record is all or nothing,
and re-sending the corrected body is safe: unchanged records are not written). 400/413/415: the
body as a whole was refused, nothing was written. 409: the database refused a batch (usually a
concurrent import of the same records): nothing was written, send it again.
"""

from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from audit.log import record
from audit.models import AuditEvent

from .importer import ImportAborted, Importer, ImportFileError, iter_records, load_json
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
        body = request.body
    except RequestDataTooBig:
        # Django's own answer would be an HTML 400 page.
        return JsonResponse(
            {"error": f"The body is too large: send at most {MAX_RECORDS} records per request."},
            status=413,
        )
    try:
        records = list(iter_records(load_json(body, what="The body")))
    except ImportFileError as exc:
        return JsonResponse({"error": str(exc)}, status=400)
    if len(records) > MAX_RECORDS:
        return JsonResponse({"error": f"At most {MAX_RECORDS} records per request."}, status=413)
    try:
        result = Importer(pharmacy=found.pharmacy).run(records)
    except ImportAborted as exc:  # rolled back as a whole
        return JsonResponse(
            {"error": f"Nothing was imported: {exc}"}, status=409 if exc.retry else 422
        )
    record(
        request,
        AuditEvent.Action.IMPORT,
        found,
        description=f"ingest: {result.created} created, {result.updated} updated, {result.unchanged} unchanged, {result.error_count} rejected",
    )
    answer = result.as_dict()
    if result.error_count:
        answer["error"] = (
            f"{result.error_count} of {len(records)} records were refused (see errors); "
            "the others were applied."
        )
        return JsonResponse(answer, status=422)
    return JsonResponse(answer, status=200)
