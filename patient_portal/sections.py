"""The section registry: how apps plug a page into the patient portal's nav and Home.

An app registers in its `AppConfig.ready()`:

    from patient_portal.sections import HomeCard, Section, register

    register(Section(key="messages", label="Messages", url_name="messaging:inbox",
                     permission="messages", order=20,
                     home_card=HomeCard(template="messaging/_home_card.html",
                                        context=recent_threads, order=10)))

The nav and Home show a registered section only when its `permission` (a `PortalSettings`
field, or None for always) is on at the chosen chart's clinic. `@patient_section(key)` gives
the same 404 for a section that is off.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from django.urls import reverse

if TYPE_CHECKING:
    from django.http import HttpRequest

    from .models import Chart, PortalSettings

# (request, chart) -> the card template's context, or None to leave the card out.
CardContext = Callable[["HttpRequest", "Chart"], dict[str, Any] | None]
# (request, chart) -> a count shown beside the nav entry (Messages: unread), 0 for none.
BadgeCount = Callable[["HttpRequest", "Chart"], int]


@dataclass(frozen=True)
class HomeCard:
    """A card on Home: `template` is rendered with `context(request, chart)` plus `chart`.

    Return None from `context` to leave the card out; an empty card must say what to do.
    """

    template: str
    context: CardContext | None = None
    order: int = 100
    key: str = ""
    permission: str | None = None


@dataclass(frozen=True)
class Section:
    """A page of the patient portal: a nav entry, optionally with a Home card."""

    key: str
    label: str
    url_name: str
    order: int = 100
    permission: str | None = None
    home_card: HomeCard | None = None
    # SVG path data (24×24 viewBox) of the nav icon.
    icon: str = ""
    # Other URL namespaces or names that mark this entry as the current page.
    matches: tuple[str, ...] = field(default_factory=tuple)
    # A count beside the entry (its element id is "<key>-badge", for live updates).
    badge: BadgeCount | None = None

    @property
    def url(self) -> str:
        return reverse(self.url_name)


_sections: dict[str, Section] = {}
_cards: dict[str, HomeCard] = {}


def register(section: Section) -> Section:
    """Add (or replace, by key) a section; its `home_card`, if any, goes on Home."""
    _sections[section.key] = section
    if section.home_card is not None:
        card = section.home_card
        register_card(
            HomeCard(
                template=card.template,
                context=card.context,
                order=card.order,
                key=card.key or section.key,
                permission=card.permission or section.permission,
            )
        )
    return section


def register_card(card: HomeCard) -> HomeCard:
    """Add a Home card that belongs to no nav section (Clinician Information)."""
    _cards[card.key or card.template] = card
    return card


def unregister(key: str) -> None:
    """Remove a section and its card (tests)."""
    _sections.pop(key, None)
    _cards.pop(key, None)


def get(key: str) -> Section | None:
    return _sections.get(key)


def all_sections() -> list[Section]:
    return sorted(_sections.values(), key=lambda s: (s.order, s.key))


def enabled_sections(settings: PortalSettings) -> list[Section]:
    """The registered sections whose permission is on, in nav order."""
    return [s for s in all_sections() if settings.allows(s.permission)]


def enabled_cards(settings: PortalSettings) -> list[HomeCard]:
    return sorted(
        (c for c in _cards.values() if settings.allows(c.permission)),
        key=lambda c: (c.order, c.key),
    )


# The portal's own entries --------------------------------------------------------------------

HOME_ICON = "M12 3 2 11h3v9h5v-6h4v6h5v-9h3L12 3Z"
ACCOUNT_ICON = "M12 12a4.5 4.5 0 1 0 0-9 4.5 4.5 0 0 0 0 9Zm0 2c-4 0-8 2-8 5v2h16v-2c0-3-4-5-8-5Z"
# Nav order of the sections the issue names, for the apps that register them.
ORDER = {
    "home": 0,
    "messages": 20,
    "schedule": 30,
    "demographics": 40,
    "billing": 50,
    "documents": 60,
    "instructions": 70,
    "account": 90,
}


def register_core() -> None:
    """Home, Account and the Clinician Information card (called by the app's ready())."""
    from .cards import clinician_information

    register(
        Section(
            key="home",
            label="Home",
            url_name="patient_portal:home",
            order=ORDER["home"],
            icon=HOME_ICON,
        )
    )
    register(
        Section(
            key="account",
            label="Account",
            url_name="patient_portal:account",
            order=ORDER["account"],
            icon=ACCOUNT_ICON,
            matches=("patient_portal:account_",),
        )
    )
    register_card(
        HomeCard(
            key="clinician",
            template="patient_portal/cards/clinician.html",
            context=clinician_information,
            order=30,
        )
    )
