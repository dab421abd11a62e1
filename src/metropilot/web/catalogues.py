"""Keeping the catalogues in step with the code: extraction, update and the checks of the tests.

The keys a page uses are extracted with Babel from the Python code (``gettext(lang, "…")``,
``label(lang, "…", …)``, ``N_("…")``), the Jinja templates (``t('…')``) and the scripts
(``t("…")``), where ``babel.cfg`` says to look. The keys the code builds at run time are the
members of ``i18n.RUNTIME_FAMILIES`` found in the English catalogue. Together they make the
template every catalogue must match: ``python -m metropilot.web.catalogues`` (what
``scripts/update-catalogues`` runs) adds the new keys to every ``.po`` file with an empty text
to fill in, and drops the keys no code uses any more.
"""

from __future__ import annotations

import contextlib
import io
import re
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from io import BytesIO
from pathlib import Path
from typing import Final

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po, write_po

from metropilot.web.i18n import (
    DEFAULT_LANGUAGE,
    DOMAIN,
    LANGUAGES,
    RUNTIME_FAMILIES,
    catalogue_path,
)

__all__ = ["KEYWORDS", "Extraction", "extract", "problems", "template", "update"]

WEB_DIR: Final = Path(__file__).parent
# The functions whose arguments are message keys, and which argument (Babel's keyword specs).
KEYWORDS: Final = {"gettext": (2,), "label": (2,), "N_": None, "t": None}
PLACEHOLDER: Final = re.compile(r"\{(\w+)\}")
PO_WIDTH: Final = 100
# ``t("cc.sev." + level)`` is extracted as its literal start, ``cc.sev.``.
FAMILY_ENDS: Final = (".", "_", "-")


@dataclass(frozen=True, slots=True)
class Extraction:
    """The keys the code names literally (with where), and the families it builds keys of
    (``t("cc.sev." + level)`` is extracted as ``cc.sev.``)."""

    keys: dict[str, list[tuple[str, int]]] = field(default_factory=dict)  # key → (file, line)
    families: frozenset[str] = frozenset()


def extract(config: Path, source: Path = WEB_DIR) -> Extraction:
    """Every message key ``source`` uses, by the extraction methods of ``config`` (babel.cfg)."""
    with config.open(encoding="utf-8") as mapping:
        # Babel leaves this function unannotated; it returns (method map, options map).
        method_map, options_map = parse_mapping_cfg(mapping)  # type: ignore[no-untyped-call]
    keys: dict[str, list[tuple[str, int]]] = {}
    families: set[str] = set()
    # Babel warns of every key built with an f-string; those belong to RUNTIME_FAMILIES, and a
    # key of no family shows up as "used nowhere" in problems(), so the warnings add nothing.
    with contextlib.redirect_stderr(io.StringIO()):
        found = list(extract_from_dir(source, method_map, options_map, keywords=KEYWORDS))
    for filename, line, message, _comments, _context in found:
        if not isinstance(message, str) or not message:
            continue
        if message.endswith(FAMILY_ENDS):
            families.add(message)  # the start of a key completed at run time
        elif all(name != filename for name, _ in keys.setdefault(message, [])):
            keys[message].append((filename, line))
    return Extraction(keys, frozenset(families))


def _read(lang: str) -> Catalog:
    with catalogue_path(lang).open("rb") as source:
        return read_po(source, locale=lang, domain=DOMAIN)


def template(extraction: Extraction) -> Catalog:
    """The keys every catalogue must hold: those extracted, and the English catalogue's
    members of the families built at run time."""
    pot = Catalog(domain=DOMAIN, project="Metropilot", fuzzy=False)
    for key, places in extraction.keys.items():
        pot.add(key, locations=places)
    families = (*RUNTIME_FAMILIES, *sorted(extraction.families))
    for message in _read(DEFAULT_LANGUAGE):
        key = str(message.id)
        if key and key not in pot and key.startswith(families):
            pot.add(key, auto_comments=["built at run time"])
    return pot


def _render(catalog: Catalog) -> bytes:
    buffer = BytesIO()
    write_po(buffer, catalog, width=PO_WIDTH, sort_output=True, include_lineno=False)
    return buffer.getvalue()


def _body(rendered: bytes) -> bytes:
    """The messages without the header (its dates change on every write)."""
    return rendered.split(b"\n\n", 1)[-1]


def update(pot: Catalog, languages: Iterable[str] = LANGUAGES) -> list[Path]:
    """Brings every catalogue to the template's keys; returns the files it rewrote."""
    written = []
    for lang in languages:
        path = catalogue_path(lang)
        before = path.read_bytes()
        catalog = _read(lang)
        catalog.update(pot, no_fuzzy_matching=True, update_creation_date=False)
        catalog.obsolete.clear()  # git keeps the history; a dropped key is gone
        after = _render(catalog)
        if _body(after) != _body(before):
            path.write_bytes(after)
            written.append(path)
    return written


def problems(pot: Catalog, languages: Iterable[str] = LANGUAGES) -> list[str]:
    """What keeps the catalogues from matching the template: missing, unused or empty
    messages, and placeholders that differ from the English text's."""
    wanted = {str(m.id) for m in pot if m.id}
    english = {str(m.id): str(m.string) for m in _read(DEFAULT_LANGUAGE) if m.id}
    found = []
    for lang in languages:
        messages = {str(m.id): str(m.string) for m in _read(lang) if m.id}
        found += [f"{lang}: {key} is used but missing" for key in sorted(wanted - set(messages))]
        found += [f"{lang}: {key} is used nowhere" for key in sorted(set(messages) - wanted)]
        for key, text in sorted(messages.items()):
            if not text.strip():
                found.append(f"{lang}: {key} has no text")
            elif set(PLACEHOLDER.findall(text)) != set(PLACEHOLDER.findall(english.get(key, ""))):
                found.append(f"{lang}: {key} has other placeholders than in English")
    return found


def main(argv: list[str]) -> int:
    """``python -m metropilot.web.catalogues [babel.cfg]``: update the catalogues, then say
    what is left to do (texts to write)."""
    config = Path(argv[0]) if argv else Path("babel.cfg")
    pot = template(extract(config))
    for path in update(pot):
        print(f"updated {path}")
    left = problems(pot)
    for problem in left:
        print(problem, file=sys.stderr)
    return 1 if left else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
