"""`portal.rendering.render_page`: the whole page, or the fragment htmx asks for."""

from __future__ import annotations

from typing import Any

import pytest
from django.http import HttpRequest, HttpResponse
from django.test import RequestFactory
from django.urls import reverse
from django_htmx.middleware import HtmxMiddleware

from portal import rendering

HTMX = {"HX-Request": "true"}


def htmx_request(headers: dict[str, str] | None = None) -> HttpRequest:
    request = RequestFactory().get("/", headers=headers)
    HtmxMiddleware(lambda r: HttpResponse())(request)
    return request


@pytest.fixture
def rendered(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    names: list[str] = []

    def fake_render(request: HttpRequest, name: str, context: Any, status: Any = None) -> Any:
        names.append(name)
        return HttpResponse(status=status or 200)

    monkeypatch.setattr(rendering, "render", fake_render)
    return names


@pytest.mark.parametrize(
    ("headers", "targets", "expected"),
    [
        ({}, None, "page.html"),
        (HTMX, None, "page.html#rows"),
        ({**HTMX, "HX-History-Restore-Request": "true"}, None, "page.html"),
        ({**HTMX, "HX-Target": "rows"}, ["rows"], "page.html#rows"),
        ({**HTMX, "HX-Target": "search"}, ["rows"], "page.html"),
    ],
)
def test_it_renders_the_page_or_the_partial(
    rendered: list[str], headers: dict[str, str], targets: list[str] | None, expected: str
) -> None:
    response = rendering.render_page(
        htmx_request(headers), "page.html", {}, partial="rows", targets=targets
    )
    assert rendered == [expected]
    assert response["Vary"] == "HX-Request"


def test_it_renders_a_separate_fragment_template(rendered: list[str]) -> None:
    rendering.render_page(htmx_request(HTMX), "page.html", fragment_template="_rows.html")
    rendering.render_page(htmx_request(), "page.html", fragment_template="_rows.html")
    assert rendered == ["_rows.html", "page.html"]


@pytest.mark.django_db
def test_a_history_restore_gets_the_whole_notifications_page(cast: Any, client_for: Any) -> None:
    """htmx swaps a history restore's answer into the whole body: a fragment broke the page."""
    client = client_for(cast.alice)
    url = reverse("notifications:list")
    fragment = client.get(url, headers={"HX-Request": "true"}).content.decode()
    restored = client.get(
        url, headers={"HX-Request": "true", "HX-History-Restore-Request": "true"}
    ).content.decode()
    assert "<html" not in fragment and "<html" in restored
