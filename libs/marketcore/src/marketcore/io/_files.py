"""Opening recorded files: the single CSV member of a Lean zip, gzip or plain bytes, the date in a name."""

from __future__ import annotations

import datetime as dt
import gzip
import re
import zipfile
from pathlib import Path

import numpy as np

from marketcore.errors import DataFormatError

_DATE_RE = re.compile(r"(\d{8})")
EPOCH = dt.date(1970, 1, 1)


def read_bytes(path: str | Path) -> bytes:
    """The data bytes of ``path``: the one member of a ``.zip``, a decompressed ``.gz`` or the file itself."""
    p = Path(path)
    try:
        if p.suffix == ".zip":
            with zipfile.ZipFile(p) as zf:
                members = [i for i in zf.infolist() if not i.is_dir()]
                if len(members) != 1:
                    raise DataFormatError(f"{p}: expected one file in the zip, found {len(members)}")
                return zf.read(members[0])
        if p.suffix == ".gz":
            return gzip.decompress(p.read_bytes())
        return p.read_bytes()
    except (OSError, zipfile.BadZipFile, EOFError, gzip.BadGzipFile) as e:
        raise DataFormatError(f"{p}: cannot read: {e}") from e


def uncompressed_size(path: str | Path) -> int:
    """Size of the data once decompressed, from the zip directory (no decompression); file size otherwise."""
    p = Path(path)
    if p.suffix == ".zip":
        try:
            with zipfile.ZipFile(p) as zf:
                return sum(i.file_size for i in zf.infolist())
        except (OSError, zipfile.BadZipFile) as e:
            raise DataFormatError(f"{p}: cannot read: {e}") from e
    return p.stat().st_size


def as_u8(data: bytes) -> np.ndarray:
    return np.frombuffer(data, dtype=np.uint8)


def date_from_name(path: str | Path) -> dt.date:
    """The ``YYYYMMDD`` date at the start of a Lean day file name (``20140508_quote.zip``)."""
    name = Path(path).name
    m = _DATE_RE.match(name)
    if m is None:
        raise DataFormatError(f"{path}: file name does not start with a YYYYMMDD date")
    try:
        return dt.datetime.strptime(m.group(1), "%Y%m%d").date()
    except ValueError as e:
        raise DataFormatError(f"{path}: bad date {m.group(1)!r} in file name") from e


def midnight_utc_ns(day: dt.date, tz_offset_ns: int) -> int:
    """UTC ns of 00:00 on ``day`` in a clock that is ``tz_offset_ns`` from UTC."""
    return (day - EPOCH).days * 86_400 * 1_000_000_000 - tz_offset_ns
