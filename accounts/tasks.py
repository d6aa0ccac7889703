"""Background email (Django's tasks API: inline in development, a DB queue in production)."""

from django_tasks import TaskContext, task

from portal.tasks import once


@task(takes_context=True)
def send_portal_email_task(
    context: TaskContext, to: str, subject: str, template: str, context_data: dict
) -> None:
    """`services.send_portal_email` off the request: a slow mail server never shows in how
    long a page takes to answer (registration answers must not reveal which branch ran).

    Sent once per queued task: a run again (retry, lost worker) after it went out sends nothing.
    A failure raises, and the worker retries transient ones (portal.tasks).
    """
    from .services import send_portal_email

    with once(f"accounts.email:{context.task_result.id}") as first:
        if first:
            send_portal_email(to=to, subject=subject, template=template, context=context_data)
