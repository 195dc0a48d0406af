"""Tell a truncated image file from a complete one, cheaply.

OpenCV decodes a truncated JPEG without an error: libjpeg prints "Premature
end of JPEG file" and fills the missing rows with grey, so training and
inference go on with a grey band (a silent wrong result). A truncated PNG
already fails to decode (OpenCV returns None).

A complete JPEG ends with the EOI marker ``FF D9``. Reading the last bytes
of the file costs one small read (the decoder has just read the whole file,
so it is in the page cache): when the marker is there, the file is
complete. When it is not, the file is either truncated or has data appended
after the image (some cameras and editors do that); only then is it decoded
once more, strictly, with Pillow, which raises on a truncated stream and
ignores trailing data. So a complete image costs one tiny read, and only
suspicious files pay a second decode.
"""
import io
import os.path as osp
from typing import Optional

JPEG_START = b'\xff\xd8'
JPEG_END = b'\xff\xd9'
#: How many trailing bytes are searched for the JPEG end marker (encoders
#: may pad a few bytes after it).
TAIL_BYTES = 64


def jpeg_truncation(data: bytes) -> Optional[str]:
    """Why the JPEG in ``data`` is incomplete, or None if it is complete (or
    not a JPEG).

    Args:
        data (bytes): The whole file.

    Returns:
        str | None: The reason, e.g. ``'truncated JPEG (image file is
        truncated (277 bytes not processed))'``.
    """
    if not data.startswith(JPEG_START) or JPEG_END in data[-TAIL_BYTES:]:
        return None
    return _strict_decode(data)


def _strict_decode(data: bytes) -> Optional[str]:
    from PIL import Image  # a dependency of mmcv; only suspicious files
    try:
        with Image.open(io.BytesIO(data)) as img:
            img.load()
    except Exception as exc:  # noqa: BLE001 - Pillow raises OSError & co.
        return f'truncated JPEG ({exc})'
    return None


def file_truncation(path: str) -> Optional[str]:
    """Why the local image file ``path`` is incomplete, or None.

    Reads its first two and last :data:`TAIL_BYTES` bytes; only a JPEG
    without its end marker there is read whole and decoded strictly.

    Args:
        path (str): A local file (other paths, e.g. URLs, give None).

    Returns:
        str | None: The reason the file is incomplete.
    """
    if '://' in str(path) or not osp.isfile(path):
        return None
    with open(path, 'rb') as f:
        head = f.read(2)
        if head != JPEG_START:
            return None
        size = f.seek(0, 2)
        f.seek(max(2, size - TAIL_BYTES))
        if JPEG_END in f.read():
            return None
        f.seek(0)
        return _strict_decode(f.read())
