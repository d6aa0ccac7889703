"""Background email (Django's tasks API: inline in development, a DB queue in production)."""

from django_tasks import task


@task()
def send_portal_email_task(to: str, subject: str, template: str, context: dict) -> None:
    """`services.send_portal_email` off the request: a slow mail server never shows in how
    long a page takes to answer (registration answers must not reveal which branch ran)."""
    from .services import send_portal_email

    send_portal_email(to=to, subject=subject, template=template, context=context)
