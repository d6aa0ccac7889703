from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

admin.site.site_header = "Portal operations"
admin.site.site_title = "Portal operations"

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="prescriptions:dashboard"), name="home"),
    path("accounts/", include("accounts.urls")),
    path("", include("prescriptions.urls")),
    path("requests/", include("requests_chat.urls")),
    path("notifications/", include("notifications.urls")),
    path("clinic/", include("invites.urls")),
    path("ops/", admin.site.urls),
]
