"""The words of the pages, in English and French, and how a request picks its language.

The words are gettext catalogues, ``web/locales/<lang>/LC_MESSAGES/messages.po``, whose message
ids are symbolic keys (``stats.assets``) rather than English sentences: the pages' JavaScript
looks its words up by the same keys, an English rewording changes no key, and the English text
is itself a catalogue that reviewers read next to the French one. The catalogues are compiled in
memory when this module is first imported (no ``.mo`` file to build or ship);
``metropilot.web.catalogues`` extracts the keys the code uses and keeps the ``.po`` files in step
(``scripts/update-catalogues``).

The language comes from ``?lang=en|fr`` first (the language switch), then the ``lang`` cookie that
switch sets, then the browser's ``Accept-Language``; English when nothing matches.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from io import BytesIO
from pathlib import Path
from types import MappingProxyType
from typing import Final

from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

__all__ = [
    "CATALOGUE",
    "DEFAULT_LANGUAGE",
    "DOMAIN",
    "LANGUAGES",
    "LANGUAGE_COOKIE",
    "LOCALES_DIR",
    "N_",
    "RUNTIME_FAMILIES",
    "catalogue_path",
    "gettext",
    "pick_language",
    "script_messages",
    "translator",
]

LANGUAGES: Final = ("en", "fr")
DEFAULT_LANGUAGE: Final = "en"
LANGUAGE_COOKIE: Final = "lang"
LOCALES_DIR: Final = Path(__file__).parent / "locales"
DOMAIN: Final = "messages"

# The families of keys the code builds at run time (``f"kind.{kind}"``, ``t('lang.' ~ code)``),
# or hands whole to a page's script by prefix, so that no extractor can see each member: the
# catalogues keep every key of these families. Every other key must appear literally in the
# Python code (``gettext(lang, "…")``, ``N_("…")``), a template (``t('…')``) or a script
# (``t("…")``); ``tests/web/test_catalogues.py`` holds the code and the catalogues to that.
RUNTIME_FAMILIES: Final = (
    "cc.",  # the command centre's script (static/command*.js) receives the whole family
    "contract.direction.",
    "contract.energy_source.",
    "contract.kind.",
    "contract.lot.",
    "contract.status.",
    "error.",  # error.<code> of a refused request
    "kind.",
    "lang.",
    "map.",  # static/home.js
    "orders.",  # static/orders.js; orders.action.<step>, orders.state.<state>
    "report.group.",
    "report.note.",
    "report.state.",
    "rmap.",  # static/report.js
    "role.",
    "status.",
)


def N_(key: str) -> str:  # noqa: N802 - the name every gettext extractor knows
    """Marks a message key the code looks up later, so that extraction finds it."""
    return key


def catalogue_path(lang: str) -> Path:
    return LOCALES_DIR / lang / "LC_MESSAGES" / f"{DOMAIN}.po"


def _read(lang: str) -> Catalog:
    with catalogue_path(lang).open("rb") as source:
        return read_po(source, locale=lang, domain=DOMAIN)


def _compiled(catalog: Catalog) -> Translations:
    """The catalogue compiled to a ``.mo`` in memory, loaded as standard gettext translations."""
    buffer = BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return Translations(buffer, domain=DOMAIN)


def _load() -> tuple[dict[str, Translations], dict[str, Mapping[str, str]]]:
    translations: dict[str, Translations] = {}
    messages: dict[str, Mapping[str, str]] = {}
    for lang in LANGUAGES:
        catalog = _read(lang)
        translations[lang] = _compiled(catalog)
        messages[lang] = MappingProxyType(
            {
                str(message.id): str(message.string)
                for message in catalog
                if message.id and message.string and not message.fuzzy
            }
        )
    for lang in LANGUAGES:
        if lang != DEFAULT_LANGUAGE:
            translations[lang].add_fallback(translations[DEFAULT_LANGUAGE])
    return translations, messages


_TRANSLATIONS, _MESSAGES = _load()
# Every message of each language, key → text (read-only).
CATALOGUE: Final[Mapping[str, Mapping[str, str]]] = MappingProxyType(_MESSAGES)


def _language_of(value: str | None) -> str | None:
    """``fr``, ``FR``, ``fr-CA`` → ``fr``; anything unsupported → None."""
    if not value:
        return None
    primary = value.strip().split("-")[0].split("_")[0].lower()
    return primary if primary in LANGUAGES else None


def _from_accept_language(header: str | None) -> str | None:
    """The supported language the browser prefers most (RFC 9110 quality values)."""
    if not header:
        return None
    best: tuple[float, int, str] | None = None
    for position, item in enumerate(header.split(",")):
        tag, *params = (part.strip() for part in item.split(";"))
        quality = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        language = _language_of(tag)
        if language is None or quality <= 0:
            continue
        # Highest quality wins; between equal qualities, the first listed.
        candidate = (quality, -position, language)
        if best is None or candidate > best:
            best = candidate
    return best[2] if best else None


def pick_language(
    query: str | None = None, cookie: str | None = None, accept_language: str | None = None
) -> str:
    """``?lang=`` first, then the cookie, then ``Accept-Language``, then English."""
    return (
        _language_of(query)
        or _language_of(cookie)
        or _from_accept_language(accept_language)
        or DEFAULT_LANGUAGE
    )


def gettext(lang: str, key: str, **values: object) -> str:
    """The message ``key`` in ``lang`` (English if missing there, else the key itself), with
    its ``{name}`` placeholders filled in."""
    translations = _TRANSLATIONS.get(lang, _TRANSLATIONS[DEFAULT_LANGUAGE])
    template = translations.gettext(key)
    return template.format(**values) if values else template


def translator(lang: str) -> Callable[..., str]:
    def translate(key: str, **values: object) -> str:
        return gettext(lang, key, **values)

    return translate


def script_messages(lang: str, prefixes: Iterable[str]) -> dict[str, str]:
    """The messages a page's script needs (the keys starting with one of ``prefixes``), for
    its ``data-messages`` JSON: the script looks its words up by the same keys."""
    wanted = tuple(prefixes)
    messages = CATALOGUE.get(lang, CATALOGUE[DEFAULT_LANGUAGE])
    return {key: text for key, text in messages.items() if key.startswith(wanted)}
