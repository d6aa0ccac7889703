"""The Clinic area's side of the patient portal: charts and proxies, portal settings, the
provider's Portal Dashboard message (gated like the rest of the Clinic area)."""

from django.urls import path

from . import clinic_views

app_name = "clinic_portal"

urlpatterns = [
    path("charts/", clinic_views.charts, name="charts"),
    path("charts/<int:pk>/", clinic_views.chart, name="chart"),
    path("charts/<int:pk>/person/", clinic_views.edit_person, name="edit_person"),
    path("charts/<int:pk>/proxies/link/", clinic_views.link_account, name="link_account"),
    path("charts/<int:pk>/proxies/invite/", clinic_views.invite_guardian, name="invite_guardian"),
    path("proxies/<int:pk>/revoke/", clinic_views.revoke, name="revoke"),
    path("settings/", clinic_views.settings_page, name="settings"),
    path("dashboard-message/", clinic_views.dashboard_message, name="dashboard_message"),
]
