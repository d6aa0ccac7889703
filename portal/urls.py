from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

from portal import health

admin.site.site_header = "Portal operations"
admin.site.site_title = "Portal operations"

urlpatterns = [
    # Answered by portal.health.HealthCheckMiddleware before any other middleware; the routes
    # name them (reverse) and serve them should that middleware be left out.
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("", RedirectView.as_view(pattern_name="prescriptions:dashboard"), name="home"),
    path("accounts/", include("accounts.urls")),
    path("", include("prescriptions.urls")),
    path("requests/", include("requests_chat.urls")),
    path("notifications/", include("notifications.urls")),
    path("clinic/", include("invites.urls")),
    path("ops/", admin.site.urls),
]

# A database that cannot be reached answers 503 (with Retry-After), not 500.
handler500 = "portal.health.server_error"
