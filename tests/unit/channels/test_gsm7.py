"""The GSM-7 encoder: French alerts stay in one 160-septet SMS, never UCS-2."""

from __future__ import annotations

import pytest

from webapp.channels import gsm7

# The 3GPP TS 23.038 default alphabet, by code (0x1B, the escape, left out).
TS_23_038 = (
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)


def test_the_alphabet_is_the_standard_one():
    assert len(TS_23_038) == 128
    assert gsm7.BASIC == frozenset(TS_23_038) - {"\x1b"}
    assert gsm7.EXTENSION == frozenset("\f^{}\\[~]|€")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("fenêtre", "fenetre"),
        ("château", "chateau"),
        ("hôpital", "hopital"),
        ("île", "ile"),
        ("sûr", "sur"),
        ("Noël", "Noel"),
        ("maïs", "mais"),
        ("garçon", "garcon"),
        ("œuvre", "oeuvre"),
        ("Œuvre", "OEuvre"),
        ("« école »", '"école"'),
        ("l’accès", "l'accès"),
        ("attendez…", "attendez..."),
        ("8 h – 9 h — fin", "8 h - 9 h - fin"),
        ("Êtes-vous À jour ?", "Etes-vous A jour ?"),
        ("Alerte\u202f!", "Alerte !"),
        ("Ÿ ÿ á í ó ú ã õ", "Y y a i o u a o"),
    ],
)
def test_transliterates_what_gsm7_lacks(text, expected):
    assert gsm7.to_gsm7(text) == expected
    assert gsm7.is_gsm7(gsm7.to_gsm7(text))


def test_keeps_the_accents_gsm7_has():
    kept = "é è à ù ì ò É Ç Ä Ö Ñ Ü ä ö ñ ü ß Æ æ Ø ø Å å £ ¥ § ¿ ¡"
    assert gsm7.to_gsm7(kept) == kept


def test_characters_with_no_gsm7_form_become_a_question_mark():
    assert gsm7.to_gsm7("panne 🔥 服务器") == "panne ? ???"


def test_extension_characters_count_two_septets():
    assert gsm7.septets("abc") == 3
    assert gsm7.septets("€") == 2
    assert gsm7.septets("[x]") == 5
    assert gsm7.septets("{}^~|\\\f") == 14
    assert gsm7.septets("10 € HT") == 8


def test_septets_refuses_what_gsm7_cannot_carry():
    with pytest.raises(ValueError, match="not a GSM-7 character"):
        gsm7.septets("fenêtre")


def test_a_french_alert_fits_one_gsm7_sms():
    alert = (
        "Vigie : panne à la Mairie de Sarralbe — 3 équipements injoignables depuis 20 h 09 "
        "(routeur fibre, borne Wi‑Fi « école », caméra du château d’eau). Fenêtre de "
        "maintenance prévue ? Non. Hôte : rtr-œuvre-01. Détails : https://vigie.example.org/c/12"
    )
    assert len(alert) > 160
    text = gsm7.fit(alert)
    assert gsm7.is_gsm7(text)  # never UCS-2
    assert gsm7.septets(text) <= 160
    assert text.startswith("Vigie : panne à la Mairie de Sarralbe - 3 équipements injoignables")
    assert "Fenetre" in text and '"école"' in text and "chateau d'eau" in text
    assert text.endswith("...")
    assert not text[:-3].endswith(" ")


def test_a_short_message_is_not_cut():
    assert gsm7.fit("Vigie : votre code de confirmation est 123456") == (
        "Vigie : votre code de confirmation est 123456"
    )


def test_exactly_160_septets_is_kept_whole():
    text = "a" * 158 + "€"
    assert gsm7.septets(text) == 160
    assert gsm7.fit(text) == text


def test_the_cut_never_splits_an_extension_character():
    text = "a" * 156 + "€€€€"  # 156 + 8 septets
    fitted = gsm7.fit(text)
    assert gsm7.septets(fitted) <= 160
    assert fitted.endswith("...")
    # one septet was left before "...", not two: the euro is dropped whole
    assert fitted == "a" * 156 + "..."
    text = "a" * 155 + "€€€€"
    assert gsm7.fit(text) == "a" * 155 + "€..."


def test_the_cut_falls_on_a_word_boundary():
    text = " ".join(["équipement"] * 30)
    fitted = gsm7.fit(text)
    assert gsm7.septets(fitted) <= 160
    assert fitted.endswith("équipement...")


def test_spaces_are_squeezed_and_blank_lines_dropped():
    assert gsm7.fit("Panne\u00a0:   routeur\n\n\nDétails  ici ") == "Panne : routeur\nDétails ici"


def test_a_long_word_is_cut_inside_when_no_boundary_is_near():
    fitted = gsm7.fit("x" * 400)
    assert fitted == "x" * 157 + "..."
