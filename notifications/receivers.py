"""Signal receivers: events raised elsewhere that become notifications."""

from .services import notify_status_changes


def on_prescription_status_changed(sender, changes, **kwargs) -> None:
    """The importer sends this after commit, once per batch of actual status changes."""
    notify_status_changes(changes)
