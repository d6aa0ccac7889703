from django.conf import settings


def portal(request):
    return {
        "PRODUCT_NAME": settings.PRODUCT_NAME,
        "SUPPORT_EMAIL": settings.SUPPORT_EMAIL,
        "SESSION_IDLE_SECONDS": settings.SESSION_IDLE_MINUTES * 60,
        "SESSION_IDLE_WARNING_SECONDS": settings.SESSION_IDLE_WARNING_SECONDS,
    }
