"""Signals other apps (notifications) may listen to."""

from django.dispatch import Signal

# Sent after a delegate or pharmacist accepts an invitation: kwargs `invite`, `user`.
invite_accepted = Signal()
