app_name = "requests_chat"

urlpatterns: list = []
