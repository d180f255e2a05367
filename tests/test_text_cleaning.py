"""How stored text is tidied (``clean_text``): what readers later see in every message."""

from bot.services.ingest import clean_text


def test_spaces_are_tidied_line_by_line_and_breaks_are_kept() -> None:
    text = "  Flood\u00a0 barrier\tholds  \r\n\r\n\r\n\r\n  Second\x0b para\u200bgraph \n\n third "
    assert clean_text(text, 1000) == "Flood barrier holds\n\nSecond paragraph\n\nthird"


def test_control_and_invisible_characters_go() -> None:
    assert clean_text("a\x00b\x1fc\x7fd\u202eé\ufeff", 100) == "abcd\u00e9"


def test_a_long_text_is_cut_with_an_ellipsis() -> None:
    cut = clean_text("word " * 100, 20)
    assert len(cut) == 20 and cut.endswith("…") and "  " not in cut
