"""Every word a page shows is translated: no text in a template outside ``_()``, and every
message of the templates and the web code is in the Arabic and Persian catalogues, translated,
not fuzzy, and compiled."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

from tests.catalogues import assert_compiled, placeholders, translations

WEB = Path(__file__).resolve().parents[2] / "web"
TRANSLATIONS = WEB / "translations"
TEMPLATES = sorted((WEB / "templates").rglob("*.html"))
# Jinja tags, expressions and comments; then HTML comments, <pre> blocks (commands, as typed)
# and tags.  What is left is text a reader sees.
_JINJA = re.compile(r"{#.*?#}|{%.*?%}|{{.*?}}", re.S)
_MARKUP = re.compile(r"<!--.*?-->|<pre\b.*?</pre>|<[^>]+>", re.S)
_WORD = re.compile(r"[^\W\d_]{2,}")  # two letters or more, in any script


def _source_messages() -> set[str]:
    """The messages ``pybabel extract -F web/babel.cfg`` finds: the same mapping file, so the
    test cannot drift from what translators are given."""
    with open(WEB / "babel.cfg", encoding="utf-8") as f:
        method_map, options_map = parse_mapping_cfg(f)
    return {msg[2] for msg in extract_from_dir(str(WEB), method_map, options_map)
            if isinstance(msg[2], str)}


@pytest.mark.parametrize("template", TEMPLATES, ids=lambda p: str(p.relative_to(WEB)))
def test_templates_hold_no_text_outside_translations(template):
    text = _MARKUP.sub(" ", _JINJA.sub(" ", template.read_text(encoding="utf-8")))
    assert not _WORD.findall(text), f"untranslated text in {template.name}: {text.split()}"


def test_the_check_finds_text_outside_translations():
    page = '<p>{{ _("Points") }}</p><h1>Balance</h1><pre>loyalty demo seed</pre>'
    assert _WORD.findall(_MARKUP.sub(" ", _JINJA.sub(" ", page))) == ["Balance"]


@pytest.mark.parametrize("lang", ["ar", "fa"])
def test_every_message_is_translated_and_compiled(lang):
    po_file = TRANSLATIONS / lang / "LC_MESSAGES" / "messages.po"
    with open(po_file, "rb") as f:
        catalogue = read_po(f)
    po = translations(po_file)
    missing = {msg for msg in _source_messages() if not po.get(msg)}
    assert not missing, f"untranslated in {lang}: {sorted(missing)}"
    fuzzy = [m.id for m in catalogue if m.id and m.fuzzy]
    assert not fuzzy, f"fuzzy in {lang} (check and clear the flag): {fuzzy}"
    assert_compiled(po_file)


@pytest.mark.parametrize("lang", ["ar", "fa"])
def test_placeholders_survive_translation(lang):
    with open(TRANSLATIONS / lang / "LC_MESSAGES" / "messages.po", "rb") as f:
        for m in read_po(f):
            if m.id and m.string:
                assert set(placeholders(m.id)) == set(placeholders(m.string)), m.id
