"""{% local_time %}: a moment for the reader's clock (portal.js), the portal's zone as fallback."""

import datetime as dt

import pytest
from django.template import Context, Template, TemplateSyntaxError

MOMENT = dt.datetime(2026, 11, 28, 3, 5, tzinfo=dt.UTC)  # 10:05 PM on the 27th in New York


def render(source: str, **context) -> str:
    return Template(source).render(Context(context))


@pytest.mark.parametrize(
    "style, text",
    [
        ("short", "11/27/2026 10:05 PM"),
        ("long", "Nov 27, 2026 10:05 PM"),
        ("date", "11/27/2026"),
    ],
)
def test_it_writes_the_instant_and_the_portal_zone_text(settings, style, text):
    settings.TIME_ZONE = "America/New_York"
    html = render(f'{{% local_time when "{style}" %}}', when=MOMENT)
    assert html == (
        f'<time datetime="2026-11-27T22:05:00-05:00" data-local="{style}">{text}</time>'
    )


def test_a_class_comes_first_and_nothing_is_a_dash():
    html = render('{% local_time when "long" "message__time" %}', when=MOMENT)
    assert html.startswith('<time class="message__time" datetime="')
    assert render("{% local_time when %}", when=None) == "—"


def test_an_unknown_style_is_a_template_error():
    with pytest.raises(TemplateSyntaxError):
        render('{% local_time when "weekday" %}', when=MOMENT)


@pytest.mark.parametrize("language", ["en-us", "de", "fr"])
def test_the_written_out_styles_match_djangos_date_format(language):
    from django.utils import translation
    from django.utils.dateformat import format as date_format

    from portal.templatetags.times import STYLES, format_style

    moments = [
        dt.datetime(year, month, day, hour, minute)
        for year in (7, 999, 2026)
        for month in range(1, 13)
        for day in (1, 9, 28)
        for hour in range(24)
        for minute in (0, 5, 59)
    ]
    with translation.override(language):
        for moment in moments:
            for style, django_format in STYLES.items():
                assert format_style(moment, style) == date_format(moment, django_format)


@pytest.mark.parametrize("language", ["en-us", "de"])
def test_the_day_filters_match_djangos_date_filter(language):
    from django.template.defaultfilters import date as date_filter
    from django.utils import translation

    from portal.templatetags.times import iso_date, us_date

    days = [
        dt.date(year, month, day)
        for year in (7, 999, 1980, 2026)
        for month in range(1, 13)
        for day in (1, 9, 28)
    ]
    with translation.override(language):
        for value in [*days, None, ""]:
            assert us_date(value) == date_filter(value, "m/d/Y")
            assert iso_date(value) == date_filter(value, "Y-m-d")
    assert render('{{ d|us_date|default:"N/A" }} {{ d|iso_date }}', d=dt.date(2026, 3, 4)) == (
        "03/04/2026 2026-03-04"
    )
    assert render('{{ d|us_date|default:"N/A" }}', d=None) == "N/A"
