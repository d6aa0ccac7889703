"""Image attachments (JPEG, PNG): judged by content, decoded under a pixel cap, re-encoded.

The header is read first (Pillow opens lazily) and its width × height compared with
`MAX_PIXELS` before any pixel is decoded, so a 50,000 × 50,000 "image bomb" of a few kB is
refused without the memory it asks for. `verify()` then checks the file's structure (PNG
chunk CRCs, JPEG markers); the image is decoded, turned upright (EXIF orientation) and
written again from its pixels alone: EXIF (GPS position, camera), XMP, ICC comments and text
chunks are not carried over.

The one image check of the portal: message attachments (messaging) and insurance-card photos
(records) both go through `check_image`.
"""

from __future__ import annotations

import hashlib
import io
import warnings
from dataclasses import dataclass

from PIL import Image, ImageOps, UnidentifiedImageError

# 40 megapixels: any phone photo; a 50,000 × 50,000 header (2.5 gigapixels) is refused.
MAX_PIXELS = 40_000_000
MAX_SIDE = 20_000
FORMATS = {"JPEG": ("image/jpeg", "jpg"), "PNG": ("image/png", "png")}


class InvalidImage(ValueError):
    """An image we will not store; the message says why, for the person who sent it."""


@dataclass(frozen=True)
class CheckedImage:
    data: bytes
    content_type: str
    extension: str
    width: int
    height: int
    name: str

    @property
    def size(self) -> int:
        return len(self.data)

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


def looks_like_image(data: bytes) -> bool:
    return data.startswith(b"\x89PNG\r\n\x1a\n") or data.startswith(b"\xff\xd8\xff")


def check_image(data: bytes, *, name: str = "") -> CheckedImage:
    """The image re-encoded without metadata, or InvalidImage with the reason."""
    label = f"“{name}”: " if name else ""
    try:
        with warnings.catch_warnings():
            # Pillow's own bomb warning: our cap below is lower and decides.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            probe = Image.open(io.BytesIO(data))
            kind = probe.format or ""
            width, height = probe.size
            if kind not in FORMATS:
                raise InvalidImage(f"{label}Only JPEG and PNG images can be attached.")
            if width * height > MAX_PIXELS or max(width, height) > MAX_SIDE or not width * height:
                raise InvalidImage(
                    f"{label}The image is too large ({width:,} × {height:,} pixels); images may "
                    f"have at most {MAX_PIXELS // 1_000_000} megapixels."
                )
            probe.verify()
            image: Image.Image = Image.open(io.BytesIO(data))
            image.load()
            image = ImageOps.exif_transpose(image) or image
    except InvalidImage:
        raise
    except Image.DecompressionBombError:
        raise InvalidImage(
            f"{label}The image has too many pixels; images may have at most "
            f"{MAX_PIXELS // 1_000_000} megapixels."
        ) from None
    except UnidentifiedImageError:
        raise InvalidImage(
            f"{label}The image is damaged or incomplete, or not a JPEG or PNG image we can read."
        ) from None
    except (OSError, ValueError, SyntaxError, EOFError):
        raise InvalidImage(f"{label}The image is damaged or incomplete.") from None
    content_type, extension = FORMATS[kind]
    out = io.BytesIO()
    if kind == "JPEG":
        if image.mode not in {"RGB", "L"}:
            image = image.convert("RGB")
        image.save(out, "JPEG", quality=88, optimize=True)
    else:
        if image.mode not in {"1", "L", "LA", "P", "RGB", "RGBA"}:
            image = image.convert("RGBA")
        image.save(out, "PNG", optimize=False)
    stem = (name.rsplit(".", 1)[0] if "." in name else name) or "image"
    return CheckedImage(
        data=out.getvalue(),
        content_type=content_type,
        extension=extension,
        width=image.width,
        height=image.height,
        name=f"{stem}.{extension}",
    )
