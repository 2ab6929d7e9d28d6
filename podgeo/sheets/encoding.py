"""Text files in any encoding partners use -> str, saying how sure the guess is.

Order: a byte-order mark; UTF-16 without one (every other byte NUL); UTF-8; otherwise lines that
are valid UTF-8 keep it (a cp1252 file with one pasted UTF-8 row) and the rest go to
charset-normalizer, preferring the encodings US partners use (cp1252, then Mac Roman, ...) among
equally clean decodings of one script. Where the clean decodings differ in script (Cyrillic
or Arabic?) and neither reads more like language, the result is `unsure` and lists the choices,
so the page can show the decoded sample and ask, and the CLI asks for `--encoding`. Mojibake left
in the text ("CafÃ©") is repaired with ftfy line by line, only where ftfy judges a line bad.
"""
from __future__ import annotations

import codecs
import functools
import re
import unicodedata
from dataclasses import dataclass
from itertools import islice

import numpy as np

from podgeo.sheets.model import RawSheet, SheetError

#: preferred, in order, among equally clean decodings of one script (US partners' spreadsheets)
PREFERRED = ("cp1252", "mac_roman", "cp1251", "koi8_r", "cp932", "gb18030", "cp949", "big5", "cp1258")
_TIE = 0.005  # chaos difference below which two decodings are equally clean
_COHERENCE_GAP = 0.1  # coherence difference that settles a tie between scripts
_NEARLY = 0.1  # chaos margin within which a preferred encoding is still offered when unsure


@dataclass(frozen=True)
class Decoded:
    """The text, the encoding it was read as, notes for the user, and the choices when unsure."""

    text: str
    encoding: str
    notes: tuple[str, ...] = ()
    choices: tuple[str, ...] = ()  # non-empty when the guess is unsure: the encodings to offer


def decode(data: bytes, name: str, encoding: str | None = None) -> Decoded:
    """Decode `data`; `encoding` forces one (strictly: a byte it cannot read is an error naming the line)."""
    if encoding:
        return _forced(data, name, encoding)
    for bom, codec in ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"),
                       (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16")):
        if data.startswith(bom):
            try:
                return _repaired(data.decode(codec), {"utf-8-sig": "utf-8"}.get(codec, codec), [])
            except UnicodeDecodeError:
                raise SheetError(f"{name}: starts like {codec.upper().replace('-SIG', '')} text (byte-order mark) "
                                 "but is not valid in it; save it again as UTF-8") from None
    utf16 = _utf16_without_bom(data)
    if utf16:
        return _repaired(data.decode(utf16), utf16, [f"read as {utf16.upper()} (no byte-order mark)"])
    try:
        return _repaired(data.decode("utf-8"), "utf-8", [])
    except UnicodeDecodeError:
        pass
    return _legacy(data)


def sample_lines(text: str, limit: int = 5) -> list[str]:
    """The first lines holding non-ASCII text: what the user compares between encodings."""
    return [text[a:b].strip("\r")[:200] for a, b in islice(_lines_with(_NON_ASCII, text), limit)]


def _lines_with(pattern: re.Pattern, data, start: int = 0, end: int | None = None, cap: int | None = None):
    """(start, end) of each line of `data[start:end]` (str or bytes) holding a match of `pattern`, in order;
    with `cap`, the whole line even where it crosses `start` or `end`, but at most `cap` characters
    of it around its first match. Found match by match, so lines
    without one cost nothing (a `[^\\n]*X[^\\n]*` regex retries every position of them: 24 s on 22 MB)."""
    end = len(data) if end is None else end
    newline = b"\n" if isinstance(data, bytes) else "\n"
    pos = start
    while True:
        hit = pattern.search(data, pos, end)
        if hit is None:
            return
        low, high = (start, end) if cap is None else (max(0, hit.start() - cap // 2), len(data))
        first = max(data.rfind(newline, low, hit.start()) + 1, low)
        if cap is not None:
            high = min(high, first + cap)
        last = data.find(newline, hit.end(), high)
        last = high if last < 0 else last
        yield first, last
        pos = last + 1


def unsure_encoding(data: bytes, raw: RawSheet) -> str:
    """What an unsure guess looks like: the CSV's first non-ASCII line as each of its choices reads it."""
    readings = []
    for codec in raw.encoding_choices:
        text = data.decode(codec, errors="replace")
        line = next(iter(sample_lines(text, 1)), "")
        readings.append(f"{codec}: {line[:80]!r}")
    return f"{raw.filename}: the encoding is unsure; its first non-ASCII line reads as " + " | ".join(readings)


def _forced(data: bytes, name: str, encoding: str) -> Decoded:
    try:
        codec = codecs.lookup(encoding).name
    except LookupError:
        raise SheetError(f"{name}: unknown encoding {encoding!r}; use e.g. utf-8, cp1252, shift_jis") from None
    try:
        text = data.decode(codec)
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise SheetError(f"{name}: is not valid {codec} text (byte {exc.start:,}, line {line:,}); "
                         "choose another encoding") from None
    return Decoded(text.removeprefix("\ufeff"), codec, (f"read as {codec} (chosen)",))


def _utf16_without_bom(data: bytes) -> str | None:
    """'utf-16-le'/'utf-16-be' when NULs sit in every other byte of the start, as ASCII text in UTF-16 does."""
    head = data[:4096]
    if len(head) < 4 or head.count(0) < len(head) // 4:
        return None
    odd, even = head[1::2].count(0), head[0::2].count(0)
    codec = "utf-16-le" if odd > 3 * max(even, 1) else "utf-16-be" if even > 3 * max(odd, 1) else None
    if codec is None:
        return None
    try:
        data.decode(codec)
    except UnicodeDecodeError:
        return None
    return codec


def _legacy(data: bytes) -> Decoded:
    """Not UTF-8: keep lines that are valid UTF-8 with non-ASCII text as UTF-8, detect the rest.

    Lines are split only when the bytes hold a UTF-8 sequence at all, so a plain cp1252 file is
    decoded in one piece (no per-line copies of a 25 MB file).
    """
    utf8_lines: dict[int, str] = {}
    lines: list[bytes] = []
    high = _HighBytes(data)
    if high.utf8_sequence():
        lines = data.splitlines(keepends=True)
        for i, line in enumerate(lines):
            if not line.isascii() and _UTF8_SEQUENCE.search(line):
                try:
                    utf8_lines[i] = line.decode("utf-8")
                except UnicodeDecodeError:
                    pass
    rest = b"".join(line for i, line in enumerate(lines) if i not in utf8_lines) if utf8_lines else data
    codec, choices, text = _detect_and_decode(rest, None if utf8_lines else high)
    notes = []
    mojibake_at = None
    if utf8_lines:
        text = "".join(utf8_lines[i] if i in utf8_lines else line.decode(codec, errors="replace")
                       for i, line in enumerate(lines))
        notes.append(f"lines {_list(sorted(i + 1 for i in utf8_lines))} are UTF-8 in a {codec} file; read as UTF-8")
    else:
        if text is None:
            text = data.decode(codec, errors="replace")
        if len(text) == len(data) and _single_byte(codec):  # each byte one character: they line up
            mojibake_at = high.pairs()
    if "\ufffd" in text:
        bad = [i + 1 for i, t in enumerate(text.splitlines()) if "\ufffd" in t and i not in utf8_lines]
        if bad:
            notes.append(f"lines {_list(bad)} have bytes {codec} cannot read; shown as \ufffd")
    if choices:
        notes.append(f"encoding guessed as {codec} but unsure (also possible: {', '.join(c for c in choices if c != codec)})")
    return _repaired(text, codec, notes, choices, mojibake_at)


_UTF8_SEQUENCE = re.compile(rb"[\xc2-\xf4][\x80-\xbf]+")


class _HighBytes:
    """Where a file's bytes above 0x7f are, found in one numpy pass: the regex searches for them
    (`_UTF8_SEQUENCE`, `_HIGH_BYTE`) crossed all 22 MB of an ASCII-heavy sheet a byte at a time."""

    def __init__(self, data: bytes):
        self.bytes = np.frombuffer(data, dtype=np.uint8)
        self.at = np.flatnonzero(self.bytes >= 0x80)

    def pairs(self) -> np.ndarray:
        """Positions of high bytes followed by another: where two non-ASCII characters meet."""
        return self.at[:-1][np.diff(self.at) == 1]

    def utf8_sequence(self) -> bool:
        """Whether `_UTF8_SEQUENCE` matches anywhere: a lead byte 0xc2-0xf4 then a continuation 0x80-0xbf."""
        first = self.pairs()
        lead, follow = self.bytes[first], self.bytes[first + 1]
        return bool(np.any((lead >= 0xC2) & (lead <= 0xF4) & (follow <= 0xBF)))

    def search(self, data: bytes, pos: int, end: int):
        """`_HIGH_BYTE.search(data, pos, end)` for the bytes this was made from."""
        i = int(np.searchsorted(self.at, pos))
        if i < len(self.at) and self.at[i] < end:
            return _Hit(int(self.at[i]))
        return None


class _Hit:
    """A one-byte match, as `_lines_with` reads it."""

    __slots__ = ("at",)

    def __init__(self, at: int):
        self.at = at

    def start(self) -> int:
        return self.at

    def end(self) -> int:
        return self.at + 1


@functools.lru_cache(maxsize=None)
def _single_byte(codec: str) -> bool:
    """Whether `codec` reads each byte as one character, ASCII bytes as themselves and every other byte as a
    non-ASCII character (cp1252, Mac Roman, KOI8-R...; not cp932, UTF-8, ISO-2022 or EBCDIC): then a text's non-ASCII
    characters are where the file's high bytes are."""
    try:
        if codecs.lookup(codec).name.startswith(("utf", "iso2022", "hz")):  # multi-byte or stateful (escapes)
            return False
        table = bytes(range(256)).decode(codec, errors="replace")
    except (LookupError, UnicodeError):
        return False
    return len(table) == 256 and table[:128] == bytes(range(128)).decode("ascii") and \
        all(not c.isascii() for c in table[128:])


def _detect(data: bytes) -> tuple[str, tuple[str, ...]]:
    """(encoding, choices): `_detect_in` on lines sampled across a large file, confirmed by decoding the
    whole file strictly; the whole file is read only when the sample's guess cannot decode it.

    charset-normalizer over a whole 22 MB sheet took 6.6 s and 2.3 GB (a decoded copy per candidate);
    only the lines with non-ASCII bytes tell encodings apart, and a sample of those from every part
    of the file is a few hundred kilobytes.
    """
    return _detect_and_decode(data)[:2]


def _detect_and_decode(data: bytes, high: _HighBytes | None = None) -> tuple[str, tuple[str, ...], str | None]:
    """`_detect`, with the text when the check decoded the whole file (it then needs no second decoding);
    `high`: the file's `_HighBytes`, when already found."""
    if data.isascii():
        return "cp1252", (), None  # ASCII (the non-ASCII lines were UTF-8)
    sample = _spread_sample(data, high=high)
    if sample is data:
        return (*_detect_in(data), None)
    codec, choices = _detect_in(sample)
    try:
        text = codecs.decode(data, codec)  # decoded strictly: what the caller's lenient decoding would give
    except UnicodeDecodeError:
        return (*_detect_in(data), None)
    return codec, choices, text


#: a file up to this size is detected whole; a larger one from a sample of its non-ASCII lines this big
SAMPLE_BYTES = 512 * 1024
_PIECES = 64  # parts of the file each giving an equal share of the sample
_LINE_CAP = 4096  # bytes kept of one sampled line (a file with few line breaks)


def _spread_sample(data: bytes, size: int = SAMPLE_BYTES, high: _HighBytes | None = None) -> bytes:
    """Lines holding non-ASCII bytes from each of `_PIECES` equal parts of `data`, `size` bytes in all
    (`data` itself when it is no larger): a file whose accented names are all near its end is judged
    by them, not by an ASCII start. `high`: the file's `_HighBytes` (found here when not given)."""
    if len(data) <= size:
        return data
    high = high or _HighBytes(data)
    share, step = size // _PIECES, -(-len(data) // _PIECES)
    out: list[bytes] = []
    for start in range(0, len(data), step):
        taken = 0
        for first, last in _lines_with(high, data, start, min(start + step, len(data)), _LINE_CAP):
            out.append(data[first:last])
            taken += last - first + 1
            if taken >= share:
                break
    return b"\n".join(out)


_HIGH_BYTE = re.compile(rb"[\x80-\xff]")


def _detect_in(data: bytes) -> tuple[str, tuple[str, ...]]:
    """(encoding, choices): charset-normalizer's cleanest decoding; choices when scripts tie."""
    from charset_normalizer import from_bytes

    results = list(from_bytes(data))
    if not results:
        return "cp1252", ("cp1252", "mac_roman", "utf-8")
    best = min(m.chaos for m in results)
    sample = _high_lines(data)  # compared instead of whole decodings: a match caches its text, one copy each
    by_script: dict[str, list] = {}
    for m in results:
        if m.chaos <= best + _TIE:
            by_script.setdefault(_script(sample.decode(m.encoding, errors="replace")), []).append(m)
    if len(by_script) > 1:
        by_script.pop("NONE", None)  # a decoding with no non-ASCII letters fits any script
    ranked = sorted(by_script.values(), key=lambda ms: -max(m.coherence for m in ms))
    top = max(m.coherence for m in ranked[0])
    picks = [_pick(sample, ms) for ms in ranked
             if ms is ranked[0] or top - max(m.coherence for m in ms) < _COHERENCE_GAP]
    if len(picks) == 1:
        return picks[0], ()
    # unsure: offer the encodings partners use first (a little less clean is no reason to hide them)
    nearly = sorted({m.encoding for m in results if m.encoding in PREFERRED and m.chaos <= best + _NEARLY},
                    key=PREFERRED.index)
    choices = tuple(dict.fromkeys([*nearly, *picks]))
    return choices[0], choices


def _pick(sample: bytes, matches: list) -> str:
    """Among equally clean decodings of one script: a preferred encoding that reads the non-ASCII lines the
    same, else the first."""
    for preferred in PREFERRED:
        for m in matches:
            if m.encoding == preferred or _decodes_to(sample, preferred, sample.decode(m.encoding, errors="replace")):
                return preferred
    return matches[0].encoding


def _high_lines(data: bytes, limit: int = 2_000) -> bytes:
    """The first `limit` lines holding non-ASCII bytes: all that tells encodings apart, in a few kilobytes."""
    return b"\n".join(data[a:b] for a, b in islice(_lines_with(_HIGH_BYTE, data), limit))


def _decodes_to(data: bytes, encoding: str, text: str) -> bool:
    try:
        return data.decode(encoding) == text
    except UnicodeDecodeError:
        return False


def _script(text: str) -> str:
    """The writing system most non-ASCII letters (of the first 2,000) belong to: LATIN, CYRILLIC, CJK..."""
    counts: dict[str, int] = {}
    for match in islice(_NON_ASCII.finditer(text), 2_000):
        ch = match.group()
        if ch.isalpha():
            word = unicodedata.name(ch, "UNKNOWN").split()[0]
            counts[word] = counts.get(word, 0) + 1
    return max(counts, key=counts.get) if counts else "NONE"


_NON_ASCII = re.compile(r"[^\x00-\x7f]")


def _repaired(text: str, encoding: str, notes: list[str], choices: tuple[str, ...] = (),
              candidates: np.ndarray | None = None) -> Decoded:
    """Fix mojibake ("CafÃ©" -> "Café") in the lines ftfy judges bad, and say which lines changed.

    Only lines holding a UTF-8 lead byte read as cp1252/Latin-1 followed by a continuation byte
    (the mark of UTF-8 decoded wrongly) go to ftfy, which is slow on whole files. `candidates`: the only
    positions such a pair can start at, when known (two non-ASCII characters in a row); else all are searched.
    """
    if text.isascii():
        return Decoded(text, encoding, tuple(notes), choices)
    if candidates is not None:
        if not any(_MOJIBAKE.match(text, int(i)) for i in candidates):
            return Decoded(text, encoding, tuple(notes), choices)
    elif not _MOJIBAKE.search(text):
        return Decoded(text, encoding, tuple(notes), choices)
    import ftfy
    from ftfy.badness import is_bad

    lines = text.splitlines(keepends=True)
    fixed = []
    for i, line in enumerate(lines):
        if not _MOJIBAKE.search(line) or not is_bad(line):
            continue
        repaired = ftfy.fix_encoding(line)
        if repaired != line:
            lines[i] = repaired
            fixed.append(i + 1)
    if fixed:
        notes = [*notes, f"mojibake repaired on lines {_list(fixed)} (e.g. 'Ã©' read back as 'é')"]
        text = "".join(lines)
    return Decoded(text, encoding, tuple(notes), choices)


_CONTINUATION = "".join(sorted(set(bytes(range(0x80, 0xC0)).decode("cp1252", errors="ignore")
                                   + bytes(range(0x80, 0xC0)).decode("latin-1"))))
_MOJIBAKE = re.compile("[\u00c2-\u00f4][" + re.escape(_CONTINUATION) + "]")


def _list(numbers: list[int], n: int = 10) -> str:
    shown = ", ".join(str(x) for x in numbers[:n])
    return shown + (f" and {len(numbers) - n:,} more" if len(numbers) > n else "")
