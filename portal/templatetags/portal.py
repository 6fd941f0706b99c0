"""Presentation helpers for the portal's templates."""

from datetime import datetime, timedelta

from django import template
from django.utils import timezone
from django.utils.timesince import timesince

register = template.Library()


@register.filter
def ago(moment: datetime | None) -> str:
    """How long ago moment was, in words: "just now" under a minute, else "3 hours ago"."""
    if moment is None:
        return ""
    if timezone.now() - moment < timedelta(minutes=1):
        return "just now"
    return f"{timesince(moment, depth=1)} ago"


@register.filter
def minute_ago(minute: datetime | None) -> str:
    """When a minute-precise moment was (the start of its minute): "this minute", else as ``ago``.

    The portal's "Last use" is counted per minute (``tokens.usage``): a token at 10:42:55 is
    counted at 10:42:00, which ``ago`` would call "1 minute ago" ten seconds later.
    """
    if minute is None:
        return ""
    if timezone.now() - minute < timedelta(minutes=2):
        return "this minute" if timezone.now() - minute < timedelta(minutes=1) else "a minute ago"
    return ago(minute)
