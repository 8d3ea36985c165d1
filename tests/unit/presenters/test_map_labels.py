"""What a map box shows of a label: wrapped, shortened, never the same as another box."""

import random

import pytest

from topology.sites import Group
from webapp.presenters.maps import BOX_TEXT
from webapp.presenters.maps import _group_state
from webapp.presenters.maps import label_lines
from webapp.presenters.maps import node_texts

WIDE = (BOX_TEXT["wide"]["limit"], BOX_TEXT["wide"]["lines"])
NARROW = (BOX_TEXT["narrow"]["limit"], BOX_TEXT["narrow"]["lines"])


def shown(lines: tuple[str, ...]) -> str:
    return " ".join(lines)


def assert_fits(texts, limit, max_lines):
    for lines in texts:
        assert 1 <= len(lines) <= max_lines, lines
        assert all(0 < len(line) <= limit for line in lines), lines


def assert_distinct(texts):
    seen = [shown(lines) for lines in texts]
    assert len(set(seen)) == len(seen), seen


def test_a_label_that_fits_is_left_alone():
    assert label_lines("Routeur mairie", 18, 2) == ("Routeur mairie",)
    assert node_texts(["Routeur mairie", "Box fibre (Mairie)"], *WIDE) == [
        ("Routeur mairie",),
        ("Box fibre (Mairie)",),
    ]


def test_wraps_in_even_lines_keeping_dashes_and_short_brackets():
    assert label_lines("Commutateur mairie 1", 18, 2) == ("Commutateur", "mairie 1")
    assert label_lines("Liaison mairie – médiathèque", 18, 2) == ("Liaison mairie –", "médiathèque")
    assert label_lines("Box fibre (Hôtel de ville)", 18, 2) == ("Box fibre", "(Hôtel de ville)")


@pytest.mark.parametrize(("limit", "max_lines"), [WIDE, NARROW, (12, 1), (18, 1)])
def test_siblings_that_differ_by_their_number_stay_apart(limit, max_lines):
    labels = ["Commutateur mairie 1", "Commutateur mairie 2"]
    texts = node_texts(labels, limit, max_lines)
    assert_fits(texts, limit, max_lines)
    assert_distinct(texts)
    assert [shown(t)[-1] for t in texts] == ["1", "2"], texts


def test_the_number_is_kept_after_a_shortened_middle():
    assert label_lines("Commutateur mairie 2", 18, 1) == ("Commutateur mai… 2",)
    labels = [
        "Commutateur centre technique municipal 1",
        "Commutateur centre technique municipal 2",
    ]
    wide, narrow = node_texts(labels, *WIDE), node_texts(labels, *NARROW)
    assert wide == [
        ("Commutateur centre", "technique munic… 1"),
        ("Commutateur centre", "technique munic… 2"),
    ]
    assert narrow == [("Commutateur centre technique… 1",), ("Commutateur centre technique… 2",)]


@pytest.mark.parametrize(("limit", "max_lines"), [WIDE, NARROW, (14, 1)])
def test_long_labels_with_a_common_prefix_keep_what_differs(limit, max_lines):
    labels = [
        "Borne Wi-Fi salle informatique bâtiment nord",
        "Borne Wi-Fi salle informatique bâtiment sud",
        "Borne Wi-Fi salle informatique",
        "Borne Wi-Fi salle informatique bâtiment nord étage",
        "Liaison hôtel de ville – centre technique municipal",
        "Liaison hôtel de ville – centre technique municipal annexe",
    ]
    texts = node_texts(labels, limit, max_lines)
    assert_fits(texts, limit, max_lines)
    assert_distinct(texts)
    assert "nord" in shown(texts[0]) and "sud" in shown(texts[1])


def test_labels_that_differ_only_in_the_middle():
    labels = [
        "Caméra abords A de la très longue allée",
        "Caméra abords B de la très longue allée",
    ]
    texts = node_texts(labels, 16, 1)
    assert_fits(texts, 16, 1)
    assert_distinct(texts)


def test_identical_labels_are_numbered():
    labels = ["Caméra abords mairie"] * 3 + ["Caméra abords mairie (2)"]
    for limit, max_lines in (WIDE, NARROW, (12, 1)):
        texts = node_texts(labels, limit, max_lines)
        assert_fits(texts, limit, max_lines)
        assert_distinct(texts)
    assert node_texts(["Caméra", "Caméra"], *WIDE) == [("Caméra",), ("Caméra (2)",)]


def test_spaces_do_not_make_two_labels_differ_on_screen():
    texts = node_texts(["Routeur  mairie", "Routeur mairie", " Routeur mairie"], *NARROW)
    assert_distinct(texts)


@pytest.mark.parametrize("seed", range(20))
def test_any_set_of_close_labels_is_told_apart(seed):
    rnd = random.Random(seed)
    words = ["Caméra", "abords", "centre", "technique", "municipal", "mairie", "1", "2", "B"]
    labels = [" ".join(rnd.choices(words, k=rnd.randint(1, 8))) for _ in range(40)]
    for limit, max_lines in (WIDE, NARROW, (10, 1), (18, 1)):
        texts = node_texts(labels, limit, max_lines)
        assert_fits(texts, limit, max_lines)
        assert_distinct(texts)


def test_a_shortened_link_keeps_where_it_goes():
    assert label_lines("Liaison hôtel communautaire – dépôt technique", 18, 2) == (
        "Liaison hôtel",
        "…dépôt technique",
    )
    assert label_lines("Liaison mairie – médiathèque", 18, 2) == ("Liaison mairie –", "médiathèque")


def test_group_boxes_keep_room_for_their_fold_sign():
    texts = node_texts(
        ["6 téléphones · Commutateur 1", "Commutateur hôtel communautaire 1"], 18, 2, [15, 18]
    )
    assert texts[0] == ("6 téléphones ·", "Commutateur 1")
    assert all(len(line) <= 15 for line in texts[0])


# ---- the state line of a group's box ----------------------------------------------------


def group_of(states: dict[str, str], out: tuple[str, ...], folded: bool = True):
    return Group("group:sw:camera", "sw", "camera", tuple(states), out, folded)


def test_a_fold_whose_failure_is_drawn_beside_it_says_how_the_others_are():
    states = {"c1": "ok", "c2": "problem", "c3": "ok", "c4": "ok"}
    assert _group_state(group_of(states, ("c2",)), states) == "3 fonctionnent"
    states["c3"] = "unreachable"
    assert _group_state(group_of(states, ("c2",)), states) == "1 injoignable"
    # Open, or with nothing outside, the line counts every member.
    assert _group_state(group_of(states, ("c2",), folded=False), states) == (
        "1 en panne, 1 injoignable"
    )
    calm = dict.fromkeys(states, "ok")
    assert _group_state(group_of(calm, ()), calm) == "Tout fonctionne"
