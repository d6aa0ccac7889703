from django.contrib import admin
from django.urls import include, path

from portal import health

from . import views

admin.site.site_header = "Portal operations"
admin.site.site_title = "Portal operations"

urlpatterns = [
    # Answered by portal.health.HealthCheckMiddleware before any other middleware; the routes
    # name them (reverse) and serve them should that middleware be left out.
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    # Each user lands on the first page they can use (portal.gates.landing_url).
    path("", views.home, name="home"),
    path("my-clinics/", views.my_clinics, name="my_clinics"),
    path("accounts/profile/time-zone/", views.time_zone, name="time_zone"),
    path("accounts/", include("accounts.urls")),
    path("", include("prescriptions.urls")),
    path("requests/", include("requests_chat.urls")),
    path("notifications/", include("notifications.urls")),
    path("clinic/", include("invites.urls")),
    path("clinic/portal/", include("patient_portal.clinic_urls")),
    path("clinic/portal/documents/", include("questionnaires.clinic.urls")),
    path("patient/documents/", include("questionnaires.urls")),
    path("patient/", include("patient_portal.urls")),
    path("patient/schedule/", include("scheduling.urls")),
    path("clinic/schedule/", include("scheduling.clinic_urls")),
    path("patient/billing/", include("billing.urls")),
    path("clinic/billing/", include("billing.clinic_urls")),
    path("billing/webhooks/", include("billing.webhook_urls")),
    path("patient/instructions/", include("instructions.urls")),
    path("clinic/instructions/", include("instructions.clinic_urls")),
    path("patient/records/", include("records.urls")),
    path("clinic/records/", include("records.clinic_urls")),
    path("patient/messages/", include("messaging.urls")),
    path("clinic/messages/", include("messaging.clinic_urls")),
    path("ops/", admin.site.urls),
]

# A database that cannot be reached answers 503 (with Retry-After), not 500.
handler500 = "portal.health.server_error"
