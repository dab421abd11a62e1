"""The catalogues match the code: every key a page uses exists in both languages, no key is
left over, and the web modules import each other in one direction only."""

from __future__ import annotations

import re
from pathlib import Path

import grimp

from metropilot.web import catalogues
from metropilot.web.i18n import CATALOGUE, LANGUAGES, RUNTIME_FAMILIES

ROOT = Path(__file__).resolve().parents[2]


def test_the_catalogues_hold_every_key_the_code_uses_and_no_other() -> None:
    extraction = catalogues.extract(ROOT / "babel.cfg")
    assert len(extraction.keys) > 400
    assert "stats.assets" in extraction.keys  # a template
    assert "login.failed" in extraction.keys  # the Python code
    assert "report.error.photo_format" in extraction.keys  # marked with N_
    pot = catalogues.template(extraction)
    assert catalogues.problems(pot) == [], "run scripts/update-catalogues, then fill in the texts"


def test_every_family_built_at_run_time_has_members_in_both_languages() -> None:
    extraction = catalogues.extract(ROOT / "babel.cfg")
    for family in (*RUNTIME_FAMILIES, *extraction.families):
        for lang in LANGUAGES:
            assert any(key.startswith(family) for key in CATALOGUE[lang]), (lang, family)


def test_french_keeps_its_no_break_spaces() -> None:
    # A colon after a plain space could start the next line; the .po files keep U+00A0 as is.
    assert "\u00a0:" in CATALOGUE["fr"]["map.commune_detail"] + CATALOGUE["fr"]["error.csrf_failed"]
    for text in CATALOGUE["fr"].values():
        assert not re.search(r"\w [:;?!]", text), text


def test_the_web_modules_import_each_other_in_one_direction() -> None:
    graph = grimp.build_graph("metropilot")
    modules = sorted(m for m in graph.modules if m.startswith("metropilot.web."))
    for module in modules:
        for other in modules:
            if module < other:
                there = graph.find_shortest_chain(importer=module, imported=other)
                back = graph.find_shortest_chain(importer=other, imported=module)
                assert not (there and back), (there, back)
