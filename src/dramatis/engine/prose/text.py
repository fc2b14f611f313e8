"""Small text helpers shared by the realiser, the memory and the tests' expectations."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable

_QUOTE = re.compile(r'"[^"\n]*"')
_SENTENCE_END = re.compile(r"(?:(?<=[.!?])|(?<=[.!?]\*)|(?<=[.!?]\*\*))\s+(?=[\x00*(\[A-Z0-9])")
_MASK = re.compile(r"\x00(\d+)\x00")
_NON_WORD = re.compile(r"[^a-z0-9]+")
_SPACES = re.compile(r"[ \t]+")
CITATION = re.compile(r"^\*— turns? (\d+)(?:–(\d+))?\*$")


def is_citation(line: str) -> bool:
    """True for a chapter's closing citation line, e.g. ``*— turns 6–11*``."""
    return CITATION.match(line.strip()) is not None


def cited_range(line: str) -> tuple[int, ...]:
    """The turn numbers a citation line names (empty if it is not one)."""
    match = CITATION.match(line.strip())
    if match is None:
        return ()
    first = int(match.group(1))
    last = int(match.group(2)) if match.group(2) else first
    return tuple(range(first, last + 1))


def citation_line(turns: Iterable[int]) -> str:
    """The citation line for a set of turns: ``*— turn 4*`` or ``*— turns 6–11*``."""
    ordered = sorted(set(turns))
    if not ordered:
        raise ValueError("a chapter must cite at least one turn")
    if len(ordered) == 1:
        return f"*— turn {ordered[0]}*"
    return f"*— turns {ordered[0]}–{ordered[-1]}*"


def body_lines(markdown: str) -> list[str]:
    """Prose paragraphs of a chapter: no headings, citations or rules; blockquotes unwrapped."""
    paragraphs: list[str] = []
    current: list[str] = []
    for raw in markdown.splitlines():
        line = raw.strip()
        if line.startswith(">"):
            line = line.lstrip(">").strip()
        if not line or line.startswith("#") or is_citation(line) or set(line) <= {"-", "*", "_"}:
            if current:
                paragraphs.append(" ".join(current))
                current = []
            continue
        current.append(line)
    if current:
        paragraphs.append(" ".join(current))
    return paragraphs


def split_sentences(markdown: str) -> list[str]:
    """Split chapter prose into sentences; quoted speech stays inside the sentence that owns it."""
    sentences: list[str] = []
    for paragraph in body_lines(markdown):
        quotes = _QUOTE.findall(paragraph)
        masked = paragraph
        for index, quote in enumerate(quotes):
            # A quote that closes on a full stop closes its sentence too.
            end = "\x02" if quote.endswith('."') else ""
            masked = masked.replace(quote, f"\x00{index}\x00{end}", 1)
        for piece in _SENTENCE_END.split(masked):
            restored = _MASK.sub(lambda m, q=quotes: q[int(m.group(1))], piece)
            restored = restored.replace("\x02", "").strip()
            if restored:
                sentences.append(restored)
    return sentences


def normalise(sentence: str) -> str:
    """Lower-case words only: the form sentences are compared in."""
    return _NON_WORD.sub(" ", sentence.lower()).strip()


def fingerprint(sentence: str) -> str:
    """A short stable hash of a sentence's words."""
    return fingerprint_normalised(normalise(sentence))


def fingerprint_normalised(normalised: str) -> str:
    """The fingerprint of text already passed through ``normalise``."""
    return hashlib.sha256(normalised.encode("utf-8")).hexdigest()[:16]


def quoted_spans(text: str) -> list[str]:
    """The quoted speech inside a text, without the quote marks."""
    return [match.group(0)[1:-1] for match in _QUOTE.finditer(text)]


def tidy(sentence: str) -> str:
    """Collapse spaces, fix spacing before punctuation, capitalise, end with a stop."""
    text = _SPACES.sub(" ", sentence).strip()
    text = re.sub(r"\s*—\s*([.!?;,])", r"\1", text)
    text = re.sub(r"\s+([,.;:!?])", r"\1", text)
    text = re.sub(r",\s*,", ",", text)
    text = re.sub(r"([.!?]),", r"\1", text)
    text = re.sub(r"\.\.(?!\.)", ".", text)
    text = capitalise(text)
    if text and text[-1] not in '.!?"*':
        text += "."
    return text


def capitalise(text: str) -> str:
    """Upper-case the first letter, looking past leading quotes and emphasis marks."""
    for index, char in enumerate(text):
        if char.isalpha():
            return text[:index] + char.upper() + text[index + 1 :]
        if char not in "\"'*_([“‘ ":
            return text
    return text


def lower_first(text: str) -> str:
    """Lower-case a leading article so a name reads naturally mid-sentence ("the Cistern")."""
    for article in ("The ", "A ", "An "):
        if text.startswith(article):
            return article.lower() + text[len(article) :]
    return text


def title_case(text: str) -> str:
    """Title-case a phrase the way book titles are set, keeping small words low."""
    small = {"a", "an", "and", "at", "by", "for", "in", "of", "on", "or", "the", "to", "with"}
    words = text.split()
    out = []
    for index, word in enumerate(words):
        if 0 < index < len(words) - 1 and word.lower() in small:
            out.append(word.lower())
        elif word[:1].islower():
            out.append(word[:1].upper() + word[1:])
        else:
            out.append(word)
    return " ".join(out)


def speech(reason: str, *, max_chars: int = 170) -> str | None:
    """A persona's one-line reason cleaned up for quoting, or None if it does not read as speech."""
    text = " ".join(reason.split()).strip().strip('"').strip()
    if not text or len(text) > max_chars or '"' in text:
        return None
    if text.startswith(("(", "[", "{")) or "fallback" in text.lower():
        return None
    text = capitalise(text)
    if text[-1] not in ".!?":
        text += "."
    return text


def speech_with_comma(quote: str) -> str:
    """Quote text as it stands before a speech tag: a final stop becomes a comma."""
    return quote[:-1] + "," if quote.endswith(".") else quote


def words(text: str) -> frozenset[str]:
    """A set of words written as one space-separated string."""
    return frozenset(text.split())
