"""records.files: whatever bytes arrive, the answer is a clean file or a reason, never a crash."""

from __future__ import annotations

import io

from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from records.files import InvalidUpload, check_card, check_image

MAGIC = st.sampled_from([b"\xff\xd8\xff\xe0", b"\x89PNG\r\n\x1a\n", b"%PDF-1.7\n", b""])


@settings(max_examples=150, deadline=None)
@given(prefix=MAGIC, body=st.binary(max_size=2000))
def test_any_bytes_give_a_file_or_a_reason(prefix, body):
    try:
        checked = check_card(prefix + body, name="card")
    except InvalidUpload as refused:
        assert str(refused)
    else:
        assert checked.content_type in {"image/jpeg", "image/png", "application/pdf"}


def test_odd_image_modes_are_re_encoded():
    for mode, fmt in [("I;16", "PNG"), ("1", "PNG"), ("CMYK", "JPEG"), ("LA", "PNG"), ("P", "PNG")]:
        out = io.BytesIO()
        Image.new(mode, (20, 10)).save(out, fmt)
        checked = check_image(out.getvalue())
        assert Image.open(io.BytesIO(checked.data)).size == (20, 10)
