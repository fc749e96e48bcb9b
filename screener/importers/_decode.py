"""Bytes to text for the importers: BOMs, UTF-16, a Windows-1252/Latin-1 fallback, and the
recognition of files that are not bibliographies at all (images, PDFs, archives).

Standard library only; must not import sqlalchemy, textual, click, sklearn. Invalid bytes
are replaced or decoded by the fallback, with a warning; the one refusal is a file the
fallback would garble (`ImportFailed`): bytes that read as control characters, or as East
Asian text in an older encoding (Shift-JIS, GBK, EUC-KR, Big5), which Windows-1252 turns
into titles of mojibake.
"""

from __future__ import annotations

import codecs
import gzip
import io
import re
import unicodedata

from screener.importers.errors import ImportFailed

MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF87a", "a GIF image"),
    (b"GIF89a", "a GIF image"),
    (b"%PDF", "a PDF document"),
    (b"II*\x00", "a TIFF image"),
    (b"MM\x00*", "a TIFF image"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "an old Office file (.xls/.doc)"),
    (b"PK\x03\x04", "a zip archive (not an Excel .xlsx workbook)"),
    (b"\x7fELF", "a program (ELF binary)"),
    (b"MZ", "a Windows program"),
    (b"Rar!", "a RAR archive"),
    (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive"),
    (b"BZh", "a bzip2 archive"),
    (b"\xfd7zXZ\x00", "an xz archive"),
    (b"SQLite format 3\x00", "an SQLite database"),
    (b"RIFF", "a media file (RIFF)"),
    (b"ID3", "an MP3 audio file"),
    (b"OggS", "an Ogg media file"),
)

GZIP_MAGIC = b"\x1f\x8b"
MAX_GUNZIP = 4 * 1024**3


def binary_kind(data: bytes) -> str | None:
    """What a non-text file is ('a PNG image', ...), or None when it may be text."""
    for magic, kind in MAGIC:
        if data.startswith(magic):
            return kind
    return None


def gunzip(data: bytes) -> bytes:
    """Decompress gzip data (e.g. 'records.csv.gz'); raises OSError/EOFError when damaged."""
    with gzip.GzipFile(fileobj=io.BytesIO(data)) as stream:
        out = stream.read(MAX_GUNZIP + 1)
    if len(out) > MAX_GUNZIP:
        raise OSError("decompressed size exceeds 4 GB")
    return out


def _utf16_without_bom(data: bytes) -> str | None:
    sample = data[:4096]
    if len(sample) < 4:
        return None
    even = sample[0::2].count(0)
    odd = sample[1::2].count(0)
    half = len(sample) // 2
    if odd > 0.4 * half and even < 0.05 * half:
        return "utf-16-le"
    if even > 0.4 * half and odd < 0.05 * half:
        return "utf-16-be"
    return None


def decode(data: bytes) -> tuple[str, str, list[str]]:
    """(text, encoding name, warnings). Lines ended by a lone carriage return (classic Mac
    OS exports) are turned into line feeds. Raises `ImportFailed` only for bytes that are
    not UTF-8 and would be garbled by the Windows-1252/Latin-1 fallback (`_not_western`)."""
    text, encoding, warnings = _decode(data)
    if "\r" in text and "\n" not in text:
        text = text.replace("\r", "\n")
    return text, encoding, warnings


def _decode(data: bytes) -> tuple[str, str, list[str]]:
    warnings: list[str] = []
    if data.startswith(codecs.BOM_UTF8):
        try:  # valid UTF-8 that holds U+FFFD itself (Scopus writes some) is not damaged
            return data[3:].decode("utf-8"), "utf-8-sig", warnings
        except UnicodeDecodeError:
            text = data[3:].decode("utf-8", errors="replace")
        encoding = "utf-8-sig"
    elif data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        encoding = "utf-16"
        text = data.decode("utf-16", errors="replace")
        if text.startswith("\ufeff"):
            text = text[1:]
    elif (guess := _utf16_without_bom(data)) is not None:
        encoding = guess
        text = data.decode(guess, errors="replace")
    else:
        try:
            return data.decode("utf-8"), "utf-8", warnings
        except UnicodeDecodeError as exc:
            # (lines ended by carriage returns alone, as older Macs write them, counted too)
            where = data.count(b"\n" if b"\n" in data else b"\r", 0, exc.start) + 1
            text = data.decode("utf-8", errors="replace")
            bad = text.count("\ufffd")
            good = sum(1 for ch in text if ord(ch) > 127) - bad
            if good > bad:  # mostly UTF-8 with a few damaged bytes: keep UTF-8
                warnings.append(
                    f"{bad:,} byte sequence{'' if bad == 1 else 's'} "
                    f"{'is' if bad == 1 else 'are'} not valid UTF-8 (first on line {where}) "
                    f"and {'was' if bad == 1 else 'were'} "
                    "replaced by '\ufffd'."
                )
                return text, "utf-8", warnings
            if _mac_roman_likelier(data):
                text, encoding, label = data.decode("mac_roman"), "mac_roman", (
                    "Mac OS Roman (older Macs' encoding, in which Mac Excel saves 'CSV': "
                    "accents that read as letters so)")
            else:
                try:
                    text, encoding, label = data.decode("cp1252"), "cp1252", "Windows-1252"
                except UnicodeDecodeError:
                    text, encoding, label = data.decode("latin-1"), "latin-1", "Latin-1"
                if (found := _cyrillic_or_greek(data, text)) is not None:
                    encoding, label = found
                    text = data.decode(encoding)
            if encoding not in CYRILLIC_OR_GREEK:
                _refuse_if_not_western(data, text)
            if encoding in ("cp1252", "latin-1"):
                warnings.extend(_japanese_lines(data))
            check = "accented characters"
            if encoding in CYRILLIC_OR_GREEK:  # its bytes read as words of that script
                check = (f"the titles, or convert the file: iconv -f "
                         f"{CYRILLIC_OR_GREEK[encoding][1]} -t UTF-8 FILE > FILE-utf8;")
            warnings.append(
                f"The file is not valid UTF-8 (first invalid byte on line {where}); it was "
                f"read as {label}. Check {check} or save the file as UTF-8."
            )
            return text, encoding, warnings
    if "\ufffd" in text:
        warnings.append(
            f"Some bytes are not valid {encoding.removesuffix('-sig').upper()} and were replaced by '\ufffd'."
        )
    return text, encoding, warnings


FILE_START = "\ufeff"
"""A byte-order mark: where it begins a line after the first, another file starts there
(exports joined with `cat`)."""


def joined_files(text: str) -> list[int]:
    """The lines after the first that begin with a byte-order mark (`FILE_START`)."""
    lines: list[int] = []
    line, start = 1, 0
    at = text.find("\n" + FILE_START)
    while at >= 0:
        line += text.count("\n", start, at + 1)
        lines.append(line)
        start = at + 1
        at = text.find("\n" + FILE_START, start)
    return lines


def _mac_roman_likelier(data: bytes) -> bool:
    """Bytes that are not UTF-8, from an older Mac (Mac Excel's 'CSV' is still written so):
    accented letters that read as lower-case letters within words in Mac OS Roman
    ('Efficacit\x8e', 'Z\x9frich': 'Efficacité', 'Zürich') at least twice, and more than
    twice as often as in Windows-1252 (where they read 'EfficacitŽ', 'ZŸrich'), in a file
    whose lines end in carriage returns alone as such files' do; where they end otherwise
    (a Mac file passed through a Windows tool or git's autocrlf: CR LF), at least three
    times and more than four times as often. A Windows file's accented letters read as
    capitals or signs in Mac OS Roman ('étude' reads 'Ètude' there), so it stays
    Windows-1252 whatever its line ends; its quotes and dashes, which read as letters in
    Mac OS Roman ('patient\x92s': 'patient’s', 'patientís'), are no evidence either way
    (`_AMBIGUOUS`)."""
    mac = _letters_in_words(data.decode("mac_roman"), data)
    windows = _letters_in_words(data.decode("cp1252", errors="replace"))
    if b"\r" in data and b"\n" not in data:
        return mac >= 2 and mac > 2 * windows
    return mac >= 3 and mac > 4 * windows


_LETTER_IN_WORD = re.compile(r"(?<=[A-Za-z])[^\x00-\x7f]|[^\x00-\x7f](?=[A-Za-z])")
_AMBIGUOUS = frozenset(range(0x91, 0x98))
"""Windows-1252's quotes and dashes (‘ ’ “ ” • – —), which Mac OS Roman reads as letters
(ë í ì î ï ñ ó)."""


def _letters_in_words(text: str, mac_bytes: bytes = b"") -> int:
    """Non-ASCII lower-case letters beside an ASCII letter: accents as a text has them.
    With `mac_bytes` (the bytes `text` was read from as Mac OS Roman), only Latin-1's
    accented letters count ('π', 'ﬂ' do not), and none read from a byte of `_AMBIGUOUS`."""
    return sum(1 for found in _LETTER_IN_WORD.finditer(text) if found[0].islower()
               and not (mac_bytes and (not "\xc0" <= found[0] <= "\xff"
                                       or mac_bytes[found.start()] in _AMBIGUOUS)))


CYRILLIC_OR_GREEK = {
    "cp1251": ("Windows-1251 (Cyrillic)", "CP1251", "оеаинтсрвлкм"),
    "koi8_r": ("KOI8-R (Cyrillic)", "KOI8-R", "оеаинтсрвлкм"),
    "cp1253": ("Windows-1253 (Greek)", "CP1253", "αοιετσςνηυρκπ"),
}
"""The older encodings of Russian and Greek text that a Windows-1252 reading garbles: its
name in warnings, in iconv, and its language's most frequent (lower-case, unaccented)
letters, about two thirds of the letters of a Russian or Greek text."""

_FOREIGN_WORD = re.compile(r"[^\W\d_]{3,}")
_SCRIPTS = {"cp1251": "CYRILLIC", "koi8_r": "CYRILLIC", "cp1253": "GREEK"}


def _cyrillic_or_greek(data: bytes, text: str) -> tuple[str, str] | None:
    """(encoding, its name) of bytes that hold Russian or Greek text in an older encoding
    (`CYRILLIC_OR_GREEK`), which the Windows-1252 reading (`text`) turns into words of
    accented letters alone ('Ðåçóëüòàòû' for 'Результаты'), as no Western text has them
    ('été', 'Größe' and 'ação' hold ASCII letters): at least two such words of three
    letters or more, holding most of the text's non-ASCII letters, and an encoding in which
    they read as one script's letters, its language's most frequent ones making up at least
    two fifths of them (Greek read as Windows-1251 is Cyrillic letters too, but rare ones).
    None for anything else (East Asian text, which `_refuse_if_not_western` refuses, reads
    as such words too): the Windows-1252 reading stands."""
    foreign = [w for w in _FOREIGN_WORD.findall(text) if not any(ch.isascii() for ch in w)]
    accented = sum(1 for ch in text if not ch.isascii() and ch.isalpha())
    if len(foreign) < 2 or 2 * sum(map(len, foreign)) <= accented or (
            _east_asian_at(data) is not None):
        return None
    best, best_share = None, 0.4
    for encoding, (label, _, frequent) in CYRILLIC_OR_GREEK.items():
        try:
            letters = [ch for ch in data.decode(encoding) if not ch.isascii() and ch.isalpha()]
        except UnicodeDecodeError:
            continue
        script = [ch for ch in letters if _SCRIPTS[encoding] in unicodedata.name(ch, "")]
        if len(script) < 0.9 * len(letters):
            continue
        plain = [unicodedata.normalize("NFD", ch.lower())[0] for ch in script]
        share = sum(ch in frequent for ch in plain) / len(plain)
        if share > best_share:
            best, best_share = (encoding, label), share
    return best


_C1 = re.compile("[\x80-\x9f]")
_HIGH_RUN = re.compile(rb"[\x80-\xff]+")
_EAST_ASIAN = ("shift_jis", "gbk", "euc_kr", "big5")
"""Older encodings of Japanese, Chinese and Korean, as exports from Excel or local databases
on such systems write them."""


def _refuse_if_not_western(data: bytes, text: str) -> None:
    """Refuse bytes that the Windows-1252/Latin-1 fallback (`text`) would store garbled:
    C1 control characters (U+0080-U+009F, which no Western text holds), or East Asian text
    in an older encoding. Those come as runs of non-ASCII bytes (two bytes a character)
    that decode in one of `_EAST_ASIAN`, where Western text has mostly single accented
    letters between ASCII ones ('été', 'Größe'; 'ção' is a pair) and a letter before a space
    or comma that no such encoding takes."""
    if looks_binary(text):
        return  # (not text at all: detection says so)
    control = _C1.search(text)
    east_asian = (at := _east_asian_at(data)) is not None
    if at is not None:
        line = data.count(b"\n", 0, at) + 1
    elif control is not None:
        line = text.count("\n", 0, control.start()) + 1
    else:
        return
    what = ("looks like Chinese, Japanese or Korean text in an older encoding (Shift-JIS, GBK, "
            "EUC-KR, Big5)" if east_asian else "holds bytes that read as control characters")
    raise ImportFailed(
        f"the file is not UTF-8 and {what}, which would be stored garbled", line=line,
        hint="save the file as UTF-8 (in Excel: Save As, file type 'CSV UTF-8 (Comma "
             "delimited)'; in a text editor: encoding UTF-8) and import it again")


def _east_asian_at(data: bytes) -> int | None:
    """Where the first non-ASCII byte is, in bytes that read as East Asian text in an older
    encoding (see `_refuse_if_not_western`); None in others."""
    runs = list(_HIGH_RUN.finditer(data))
    high = sum(len(run[0]) for run in runs)
    paired = sum(len(run[0]) for run in runs if len(run[0]) > 1)
    if (high >= 4 and paired > 0.6 * high
            and any(_decodes(data, codec) for codec in _EAST_ASIAN)):
        return runs[0].start()
    return None


_KANA_OR_KANJI = ("CJK", "HIRAGANA", "KATAKANA", "IDEOGRAPHIC")
_WESTERN = frozenset(chr(c) for c in range(0xC0, 0x100) if chr(c).isalpha()) | set("‘’“”–—…•")
"""What Western text's non-ASCII bytes read as in Windows-1252: accented letters, quotes
and dashes."""


def _japanese_lines(data: bytes) -> list[str]:
    """A warning for the lines of a file read as Windows-1252 that hold a few Japanese
    characters in Shift-JIS (a Japanese author's name in an English file, which
    `_refuse_if_not_western` lets through as the file is not East Asian as a whole): the
    line reads in Shift-JIS as nothing beyond ASCII but kana and kanji, two different ones
    side by side at least (Western quotes and dashes before a letter, '’s', read as a
    kanji each, with ASCII between them), and in Windows-1252 mostly as signs and capitals
    ('Ž“c‘¾˜Y' for '山田太郎'), not as accented letters, quotes and dashes (`_WESTERN`)."""
    found: list[tuple[int, str]] = []
    for number, line in enumerate(data.split(b"\n"), 1):
        if line.isascii():
            continue
        try:
            japanese = [ch for ch in line.decode("shift_jis") if not ch.isascii()]
        except UnicodeDecodeError:
            continue
        western = [ch for ch in line.decode("cp1252", errors="replace") if not ch.isascii()]
        words = re.findall(r"[^\x00-\x7f]{2,}", line.decode("shift_jis"))
        if (any(len(set(word)) > 1 for word in words)
                and all(unicodedata.name(ch, "").startswith(_KANA_OR_KANJI) for ch in japanese)
                and 2 * sum(ch in _WESTERN for ch in western) < len(western)):
            found.append((number, max(words, key=len)))
    if not found:
        return []
    lines = ", ".join(str(number) for number, _ in found[:5]) + (", ..." if found[5:] else "")
    return [f"Line{'s' if found[1:] else ''} {lines} of the file hold{'' if found[1:] else 's'} "
            f"Japanese text in Shift-JIS ('{found[0][1]}'), stored garbled as Windows-1252; "
            "save the file as UTF-8 and import it again to keep it."]


def _decodes(data: bytes, codec: str) -> bool:
    try:
        data.decode(codec)
    except UnicodeDecodeError:
        return False
    return True


def looks_binary(text: str) -> bool:
    """Decoded text that is mostly control characters or NULs (a binary file)."""
    sample = text[:8192]
    if not sample:
        return False
    if "\x00" in sample:
        return True
    control = sum(1 for ch in sample if ord(ch) < 32 and ch not in "\t\n\r\f\v")
    return control > 0.02 * len(sample)


__all__ = ["GZIP_MAGIC", "binary_kind", "decode", "gunzip", "joined_files", "looks_binary"]
