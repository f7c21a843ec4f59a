"""A numba parser for headerless numeric CSV (the Lean quote formats): bytes in, columns out.

One pass over the bytes, no Python objects per row. Decimal numbers up to 18 significant digits with at most
22 fractional digits are converted exactly like ``float()`` (integer mantissa over an exact power of ten).
Rows that do not parse are flagged (``ok = False``) with their 1-based line number, never guessed.

Kept hand-written (issue 14) for measured reasons: on a real FXCM day (EURUSD 2014-05-08, 167,465 lines) it takes
73 ms against 82 ms for pandas' C engine and 167 ms for ``np.loadtxt`` (medians, shared 2-core machine,
2026-11-30), and unlike both it gives ``float()``-exact values and a per-line verdict for bad rows (the feeder
skips and counts them instead of failing a whole day), with no pandas at run time.
"""

from __future__ import annotations

import numba as nb
import numpy as np

_POW10 = np.array([10.0**i for i in range(23)], dtype=np.float64)

_COMMA = 44
_CR = 13
_LF = 10
_SPACE = 32
_DOT = 46
_MINUS = 45
_PLUS = 43
_ZERO = 48
_COLON = 58


@nb.njit(cache=True, inline="always")
def _is_digit(b: int) -> bool:
    return _ZERO <= b <= _ZERO + 9


@nb.njit(cache=True)
def _skip_spaces(buf: np.ndarray, p: int, stop: int) -> int:
    while p < stop and buf[p] == _SPACE:
        p += 1
    return p


@nb.njit(cache=True)
def _parse_float(buf: np.ndarray, p: int, stop: int) -> tuple[float, int, bool]:
    """Parse one decimal number at ``p``; return (value, position after it, ok)."""
    p = _skip_spaces(buf, p, stop)
    if p + 3 <= stop and (buf[p] | 32) == 110 and (buf[p + 1] | 32) == 97 and (buf[p + 2] | 32) == 110:
        return np.nan, _skip_spaces(buf, p + 3, stop), True  # "nan": judged later as a bad price
    neg = False
    if p < stop and (buf[p] == _MINUS or buf[p] == _PLUS):
        neg = buf[p] == _MINUS
        p += 1
    mant = 0
    sig = 0
    exp10 = 0
    ndigits = 0
    while p < stop and _is_digit(buf[p]):
        if sig < 18:
            mant = mant * 10 + (buf[p] - _ZERO)
            if mant > 0:
                sig += 1
        else:
            exp10 += 1
        ndigits += 1
        p += 1
    if p < stop and buf[p] == _DOT:
        p += 1
        while p < stop and _is_digit(buf[p]):
            if sig < 18:
                mant = mant * 10 + (buf[p] - _ZERO)
                if mant > 0:
                    sig += 1
                exp10 -= 1
            ndigits += 1
            p += 1
    if ndigits == 0:
        return np.nan, p, False
    if p < stop and (buf[p] == 101 or buf[p] == 69):  # e / E
        p += 1
        eneg = False
        if p < stop and (buf[p] == _MINUS or buf[p] == _PLUS):
            eneg = buf[p] == _MINUS
            p += 1
        if p >= stop or not _is_digit(buf[p]):
            return np.nan, p, False
        e = 0
        while p < stop and _is_digit(buf[p]):
            if e < 10000:
                e = e * 10 + (buf[p] - _ZERO)
            p += 1
        exp10 += -e if eneg else e
    value = float(mant)
    if exp10 < 0:
        value = value / _POW10[-exp10] if -exp10 <= 22 else value * 10.0**exp10
    elif exp10 > 0:
        value = value * _POW10[exp10] if exp10 <= 22 else value * 10.0**exp10
    if neg:
        value = -value
    return value, _skip_spaces(buf, p, stop), True


@nb.njit(cache=True)
def _parse_uint(buf: np.ndarray, p: int, stop: int, max_digits: int) -> tuple[int, int, bool]:
    p = _skip_spaces(buf, p, stop)
    v = 0
    n = 0
    while p < stop and _is_digit(buf[p]) and n < max_digits:
        v = v * 10 + (buf[p] - _ZERO)
        n += 1
        p += 1
    return v, p, n > 0


@nb.njit(cache=True)
def _days_from_civil(y: int, m: int, d: int) -> int:
    """Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm)."""
    y -= m <= 2
    era = (y if y >= 0 else y - 399) // 400
    yoe = y - era * 400
    mp = (m + 9) % 12
    doy = (153 * mp + 2) // 5 + d - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


@nb.njit(cache=True)
def _parse_datetime_ms(buf: np.ndarray, p: int, stop: int) -> tuple[int, int, bool]:
    """``YYYYMMDD HH:MM`` (Lean daily) to ms since the epoch of that wall-clock time (no zone applied)."""
    p = _skip_spaces(buf, p, stop)
    if p + 8 > stop:
        return 0, p, False
    ymd = 0
    for i in range(8):
        b = buf[p + i]
        if not _is_digit(b):
            return 0, p + i, False
        ymd = ymd * 10 + (b - _ZERO)
    p += 8
    y, m, d = ymd // 10000, (ymd // 100) % 100, ymd % 100
    if m < 1 or m > 12 or d < 1 or d > 31:
        return 0, p, False
    hh = 0
    mm = 0
    if p < stop and buf[p] == _SPACE:
        hh, p, ok = _parse_uint(buf, p + 1, stop, 2)
        if not ok or p >= stop or buf[p] != _COLON:
            return 0, p, False
        mm, p, ok = _parse_uint(buf, p + 1, stop, 2)
        if not ok or hh > 23 or mm > 59:
            return 0, p, False
    ms = (_days_from_civil(y, m, d) * 86400 + hh * 3600 + mm * 60) * 1000
    return ms, _skip_spaces(buf, p, stop), True


@nb.njit(cache=True)
def parse_numeric_csv(
    buf: np.ndarray, nvals: int, date_col0: bool
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Parse rows ``key,v1,...,v_nvals``.

    ``key`` is an unsigned integer (ms since midnight) or, with ``date_col0``, ``YYYYMMDD HH:MM`` returned as
    ms since the epoch of that wall-clock time. Blank lines are skipped. Returns ``(key, vals, ok, line_no)``
    with one entry per non-blank line; rows with ``ok == False`` did not parse and hold garbage.
    """
    nlines = 1
    for i in range(buf.size):
        if buf[i] == _LF:
            nlines += 1
    key = np.empty(nlines, dtype=np.int64)
    vals = np.empty((nlines, nvals), dtype=np.float64)
    ok = np.empty(nlines, dtype=np.bool_)
    line_no = np.empty(nlines, dtype=np.int64)
    n = 0
    pos = 0
    line = 0
    size = buf.size
    while pos < size:
        line += 1
        p = _skip_spaces(buf, pos, size)
        if p >= size or buf[p] == _LF or (buf[p] == _CR and (p + 1 >= size or buf[p + 1] == _LF)):
            pos = p + 1 if p < size and buf[p] == _LF else p + 2
            continue  # blank line
        if date_col0:
            k, p, good = _parse_datetime_ms(buf, pos, size)
        else:
            k, p, good = _parse_uint(buf, pos, size, 18)
            p = _skip_spaces(buf, p, size)
        c = 0
        while good and c < nvals:
            if p >= size or buf[p] != _COMMA:
                good = False
                break
            v, p, good = _parse_float(buf, p + 1, size)
            vals[n, c] = v
            c += 1
        if good:
            if p < size and buf[p] == _CR:
                p += 1
            good = p >= size or buf[p] == _LF  # else trailing garbage or too many columns
        while p < size and buf[p] != _LF:
            p += 1
        key[n] = k
        ok[n] = good
        line_no[n] = line
        n += 1
        pos = p + 1
    return key[:n], vals[:n], ok[:n], line_no[:n]
