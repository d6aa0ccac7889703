"""A web process compiles the portal's templates before its first request, then freezes them."""

import gc
import logging

from portal.warmup import portal_templates, prepare_process, warm_up


def test_it_finds_the_portal_templates():
    names = portal_templates()
    assert "_base.html" in names
    assert "requests_chat/detail.html" in names
    assert not [name for name in names if name.startswith("admin/")]


def test_every_portal_template_compiles(caplog):
    with caplog.at_level(logging.ERROR, logger="portal.warmup"):
        warm_up()
    assert caplog.records == []


def test_it_freezes_what_is_loaded():
    try:
        prepare_process()
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
