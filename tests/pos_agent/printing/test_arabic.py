"""Arabic and Persian: shaped into presentation forms, reordered, drawn right-aligned."""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

import pytest
from PIL import Image, ImageOps

from pos_agent.printer import CATALOGUE, LANGUAGES, label, shape
from pos_agent.printing.raster import MARGIN, rows_image
from pos_agent.printing.slip import Row

PRESENTATION = re.compile(r"[\ufb50-\ufdff\ufe70-\ufeff]")


def _ink_box(path: Path) -> tuple[int, int, int, int] | None:
    """Where the black dots are, in a saved image."""
    with Image.open(path) as image:
        return ImageOps.invert(image.convert("L")).getbbox()


@pytest.mark.parametrize("language", ["ar", "fa"])
def test_a_label_image_is_shaped_and_right_aligned(language: str, tmp_path: Path) -> None:
    text = label("points_earned", language)
    shaped = shape(text, rtl=True)
    assert shaped != text and PRESENTATION.search(shaped)
    assert not re.search(r"[\u0600-\u06ff]", shaped.replace(" ", "")), "a letter left unshaped"
    path = tmp_path / f"points_earned-{language}.png"
    rows_image([Row(text)], 384, rtl=True).save(path)
    assert path.stat().st_size > 0
    box = _ink_box(path)
    assert box is not None, "the label image is blank"
    left, _, right, _ = box
    assert left > 384 // 2, "ink in the left half: not right-aligned"
    assert 384 - MARGIN - 4 <= right <= 384 - MARGIN + 1


def test_the_amount_sits_on_the_left_of_an_arabic_row(tmp_path: Path) -> None:
    path = tmp_path / "row.png"
    rows_image([Row(label("total", "ar"), "13.49 AED")], 384, rtl=True).save(path)
    with Image.open(path) as image:
        ink = ImageOps.invert(image.convert("L"))
        left_half = ink.crop((0, 0, 192, ink.height))
        right_half = ink.crop((192, 0, 384, ink.height))
        assert left_half.getbbox()[0] <= MARGIN + 2  # the amount starts at the left margin
        assert right_half.getbbox() is not None  # the label at the right


# Persian letters in their four positions (Unicode Arabic Presentation Forms-A).
PERSIAN_FORMS = {
    "پ": ("\ufb56", "\ufb57", "\ufb58", "\ufb59"),  # isolated, final, initial, medial
    "چ": ("\ufb7a", "\ufb7b", "\ufb7c", "\ufb7d"),
    "گ": ("\ufb92", "\ufb93", "\ufb94", "\ufb95"),
    "ی": ("\ufbfc", "\ufbfd", "\ufbfe", "\ufbff"),
    "ژ": ("\ufb8a", "\ufb8b"),  # joins only on its right: no initial or medial form
}


@pytest.mark.parametrize(("letter", "forms"), PERSIAN_FORMS.items())
def test_persian_letters_shape_in_every_position(letter: str, forms: tuple[str, ...]) -> None:
    assert shape(letter, rtl=True) == forms[0]
    assert shape("ب" + letter, rtl=True)[0] == forms[1]  # visual order: the last letter first
    if len(forms) == 4:
        assert shape(letter + "ب", rtl=True)[-1] == forms[2]
        assert shape("ب" + letter + "ب", rtl=True)[1] == forms[3]


def test_a_persian_string_with_all_five_letters_shapes_to_presentation_forms() -> None:
    text = "پچژگی"
    shaped = shape(text, rtl=True)
    # Visual order: ی final, گ initial, ژ final, چ medial, پ initial.
    assert shaped == "\ufbfd\ufb94\ufb8b\ufb7d\ufb58"
    assert all(PRESENTATION.match(ch) for ch in shaped)
    assert [unicodedata.name(ch).split()[2] for ch in shaped] == [
        "FARSI", "GAF", "JEH", "TCHEH", "PEH"]


def test_lam_alef_becomes_one_ligature_and_digits_keep_their_order() -> None:
    assert shape("لا", rtl=True) == "\ufefb"
    assert shape("الرصيد 1240", rtl=True).startswith("1240 ")


def test_english_text_is_left_as_it_is() -> None:
    assert shape("Points earned 13", rtl=False) == "Points earned 13"


def test_the_catalogue_is_complete_and_uses_each_languages_letters() -> None:
    for key, texts in CATALOGUE.items():
        assert set(texts) == set(LANGUAGES), key
        assert all(texts.values()), key
        if key != "line":  # "{qty} × {name}" has no words of its own
            assert re.search(r"[\u0600-\u06ff]", texts["ar"]), key
            assert re.search(r"[\u0600-\u06ff]", texts["fa"]), key
        # Persian writes ی and ک; Arabic writes ي and ك.  Mixing them up misprints names.
        assert not re.search("[\u064a\u0643]", texts["fa"]), key
        assert not re.search("[\u06cc\u06a9]", texts["ar"]), key
        assert "\u200c" not in texts["fa"]
    assert label("line", "fa", qty=2, name="شیر") == "2 × شیر"
    with pytest.raises(ValueError, match="no slip texts"):
        label("total", "de")


def test_a_long_arabic_line_wraps_by_words_within_the_paper(tmp_path: Path) -> None:
    one = rows_image([Row("حليب طازج", "12.50 AED")], 384, rtl=True)
    name = "حليب طازج كامل الدسم من مزارع العين عبوة عائلية كبيرة"
    two = rows_image([Row(name, "12.50 AED")], 384, rtl=True)
    assert two.height >= 2 * one.height  # wrapped onto more lines, not cut off
    path = tmp_path / "wrapped.png"
    two.save(path)
    left, _, right, _ = _ink_box(path) or (0, 0, 0, 0)
    assert left >= MARGIN - 1 and right <= 384 - MARGIN + 1  # nothing runs off the paper
