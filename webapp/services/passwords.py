"""Password policy (ASVS 2.1): length, common and breached passwords, context words, strength.

The server's check is the one that counts; the meter of the password pages
(``static/js/password-meter.js``, zxcvbn-ts) only helps, with the same words: both use
the feedback keys of zxcvbn-ts (``warnings.*``, ``suggestions.*``) and :data:`FEEDBACK`.

- at least ``PASSWORD_MIN_LENGTH`` characters (12), at most :data:`MAX_LENGTH`;
- not one of the 30,000 most common passwords of the ``zxcvbn`` package (its
  ``passwords`` list, taken from Xato's corpus of 10 million breached passwords; MIT);
- not made of context words: the user's name, the parts of their e-mail address, « vigie »,
  « moselle » and the syndicate's name (``SYNDICATE_NAME``), even in l33t (``V1g1e``) — what
  is left without them must be long and strong enough on its own;
- a zxcvbn score of at least :data:`MIN_SCORE` (3: about 10^8 guesses or more).

No composition rule and no forced rotation (ANSSI and CNIL guidance, NIST SP 800-63B).
"""

from __future__ import annotations

import re
import threading
import unicodedata

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from zxcvbn import zxcvbn
from zxcvbn.frequency_lists import FREQUENCY_LISTS

from webapp.services.errors import ValidationError

MIN_SCORE = 3
MAX_LENGTH = 256
ZXCVBN_MAX_LENGTH = 72  # the zxcvbn package refuses longer input: the first 72 are scored
SERVICE_WORDS = ("vigie", "moselle")
MIN_WORD_LENGTH = 3

COMMON_PASSWORDS = frozenset(FREQUENCY_LISTS["passwords"])

# zxcvbn keeps the user's words in a module-level dictionary while it scores: one at a time.
_zxcvbn_lock = threading.Lock()

# One character for one, so that a match in a variant is a match at the same place.
_L33T_I = str.maketrans("0134@$57!|+8", "oieaasstiltb")
_L33T_L = str.maketrans("1", "l")

# The words of the meter and of the server's refusals, by zxcvbn-ts feedback key.
FEEDBACK = {
    "warnings.straightRow": _l("Une rangée de touches du clavier se devine vite."),
    "warnings.keyPattern": _l("Un court motif de clavier se devine vite."),
    "warnings.simpleRepeat": _l("Une répétition comme « aaa » se devine vite."),
    "warnings.extendedRepeat": _l(
        "Une répétition comme « abcabcabc » n’est guère plus sûre que « abc »."
    ),
    "warnings.sequences": _l("Une suite comme « abc » ou « 6543 » se devine vite."),
    "warnings.recentYears": _l("Les années récentes se devinent vite."),
    "warnings.dates": _l("Les dates se devinent vite."),
    "warnings.topTen": _l("C’est l’un des dix mots de passe les plus utilisés."),
    "warnings.topHundred": _l("C’est l’un des cent mots de passe les plus utilisés."),
    "warnings.common": _l("C’est un mot de passe très courant."),
    "warnings.similarToCommon": _l("Il ressemble à un mot de passe très courant."),
    "warnings.wordByItself": _l("Un mot seul se devine vite."),
    "warnings.namesByThemselves": _l("Un nom ou un prénom seul se devine vite."),
    "warnings.commonNames": _l("Les noms et prénoms courants se devinent vite."),
    "warnings.userInputs": _l(
        "Il reprend votre nom, votre adresse électronique ou le nom du service."
    ),
    "warnings.pwned": _l("Ce mot de passe a été divulgué lors d’une fuite de données."),
    "suggestions.l33t": _l("Remplacer « a » par « @ » ou « e » par « 3 » n’aide guère."),
    "suggestions.reverseWords": _l("Un mot écrit à l’envers n’est guère plus sûr."),
    "suggestions.allUppercase": _l("Tout en majuscules n’est guère plus sûr qu’en minuscules."),
    "suggestions.capitalization": _l("Une majuscule en première lettre n’aide guère."),
    "suggestions.dates": _l("Évitez les dates et les années qui vous concernent."),
    "suggestions.recentYears": _l("Évitez les années récentes."),
    "suggestions.associatedYears": _l("Évitez les années qui vous concernent."),
    "suggestions.sequences": _l("Évitez les suites de caractères."),
    "suggestions.repeated": _l("Évitez les mots et caractères répétés."),
    "suggestions.longerKeyboardPattern": _l(
        "Un motif de clavier plus long, qui change souvent de direction, est plus sûr."
    ),
    "suggestions.anotherWord": _l("Ajoutez un ou deux mots peu courants."),
    "suggestions.useWords": _l("Assemblez quelques mots, en évitant les expressions connues."),
    "suggestions.noNeed": _l("Inutile d’ajouter symboles, chiffres ou majuscules."),
    "suggestions.pwned": _l("Si vous utilisez ce mot de passe ailleurs, changez-le."),
}

# The zxcvbn package's own (English) feedback, as zxcvbn-ts keys.
_PYTHON_FEEDBACK = {
    "Straight rows of keys are easy to guess.": "warnings.straightRow",
    "Short keyboard patterns are easy to guess.": "warnings.keyPattern",
    'Repeats like "aaa" are easy to guess.': "warnings.simpleRepeat",
    'Repeats like "abcabcabc" are only slightly harder to guess than "abc".': (
        "warnings.extendedRepeat"
    ),
    'Sequences like "abc" or "6543" are easy to guess.': "warnings.sequences",
    "Recent years are easy to guess.": "warnings.recentYears",
    "Dates are often easy to guess.": "warnings.dates",
    "This is a top-10 common password.": "warnings.topTen",
    "This is a top-100 common password.": "warnings.topHundred",
    "This is a very common password.": "warnings.common",
    "This is similar to a commonly used password.": "warnings.similarToCommon",
    "A word by itself is easy to guess.": "warnings.wordByItself",
    "Names and surnames by themselves are easy to guess.": "warnings.namesByThemselves",
    "Common names and surnames are easy to guess.": "warnings.commonNames",
    "Use a longer keyboard pattern with more turns.": "suggestions.longerKeyboardPattern",
    "Avoid repeated words and characters.": "suggestions.repeated",
    "Avoid sequences.": "suggestions.sequences",
    "Avoid recent years.": "suggestions.recentYears",
    "Avoid years that are associated with you.": "suggestions.associatedYears",
    "Avoid dates and years that are associated with you.": "suggestions.dates",
    "Capitalization doesn't help very much.": "suggestions.capitalization",
    "All-uppercase is almost as easy to guess as all-lowercase.": "suggestions.allUppercase",
    "Reversed words aren't much harder to guess.": "suggestions.reverseWords",
    "Predictable substitutions like '@' instead of 'a' don't help very much.": ("suggestions.l33t"),
    "Add another word or two. Uncommon words are better.": "suggestions.anotherWord",
    "Use a few words, avoid common phrases.": "suggestions.useWords",
    "No need for symbols, digits, or uppercase letters.": "suggestions.noNeed",
}


def normalise(text: str) -> str:
    """Lower case without accents: « Élodie » and « elodie » are the same word."""
    decomposed = unicodedata.normalize("NFKD", text or "")
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def context_words(*, email: str | None = None, name: str | None = None) -> list[str]:
    """The words a password must not be made of, longest first.

    « vigie », « moselle », the syndicate's name, the user's name, the local part of their
    e-mail address and its domain's labels (without the top-level one): each word of three
    letters or more, and each part written without its separators (« jeandupont »).
    """
    parts = [*SERVICE_WORDS, current_app.config.get("SYNDICATE_NAME") or "", name or ""]
    if email and "@" in email:
        local, _at, domain = email.rpartition("@")
        parts.append(local)
        parts.extend(domain.split(".")[:-1])
    words: set[str] = set()
    for part in parts:
        text = normalise(part)
        words.update(w for w in re.split(r"[^a-z]+", text) if len(w) >= MIN_WORD_LENGTH)
        joined = re.sub(r"[^a-z0-9]+", "", text)
        if len(joined) >= MIN_WORD_LENGTH:
            words.add(joined)
    return sorted(words, key=lambda w: (-len(w), w))


def without_context(password: str, words: list[str]) -> tuple[str, list[str]]:
    """``password`` (normalised) without the context words it holds, and those words.

    A word is found as typed or in l33t (``V1g1e``, ``m0s3ll3``).
    """
    text = normalise(password)
    variants = {text, text.translate(_L33T_I), text.translate(_L33T_I).translate(_L33T_L)}
    kept = [True] * len(text)
    found = []
    for word in words:
        hit = False
        for variant in variants:
            start = variant.find(word)
            while start != -1:
                hit = True
                kept[start : start + len(word)] = [False] * len(word)
                start = variant.find(word, start + 1)
        if hit:
            found.append(word)
    return "".join(c for c, keep in zip(text, kept, strict=True) if keep), found


def _zxcvbn(password: str, words: list[str]) -> dict:
    with _zxcvbn_lock:
        return zxcvbn(password[:ZXCVBN_MAX_LENGTH], user_inputs=words)


def feedback_keys(result: dict) -> list[str]:
    """A zxcvbn result's warning and suggestions as zxcvbn-ts keys (the known ones)."""
    feedback = result.get("feedback") or {}
    texts = [feedback.get("warning") or "", *(feedback.get("suggestions") or [])]
    return [_PYTHON_FEEDBACK[t] for t in texts if t in _PYTHON_FEEDBACK]


def check(
    password: str,
    *,
    email: str | None = None,
    name: str | None = None,
    strength: bool = True,
) -> None:
    """Raise :class:`ValidationError` (``password``, in French) unless the policy accepts it.

    ``strength=False`` checks the length only (the demo accounts' published password, which
    production refuses anyway).
    """
    minimum = current_app.config["PASSWORD_MIN_LENGTH"]
    if len(password) < minimum:
        _refuse(_("Le mot de passe doit faire au moins %(n)d caractères.", n=minimum))
    if len(password) > MAX_LENGTH:
        _refuse(_("Le mot de passe est trop long (%(n)d au plus).", n=MAX_LENGTH))
    if not strength:
        return
    if password.casefold() in COMMON_PASSWORDS or normalise(password) in COMMON_PASSWORDS:
        _refuse(
            _(
                "Ce mot de passe fait partie des mots de passe les plus courants ou divulgués : "
                "choisissez-en un autre."
            )
        )
    words = context_words(email=email, name=name)
    rest, found = without_context(password, words)
    # Context words count for nothing: what is left must be a good password on its own.
    if found and (len(rest) < minimum or _zxcvbn(rest, words)["score"] < MIN_SCORE):
        _refuse(
            _(
                "Ce mot de passe repose sur votre nom, votre adresse électronique ou le nom "
                "du service (%(words)s) : ajoutez des mots sans rapport avec eux.",
                words=", ".join(f"« {w} »" for w in found),
            )
        )
    result = _zxcvbn(password, words)
    if result["score"] < MIN_SCORE:
        advice = [str(FEEDBACK[key]) for key in feedback_keys(result)[:2]]
        _refuse(" ".join([_("Ce mot de passe est trop facile à deviner."), *advice]))


def _refuse(message: str) -> None:
    raise ValidationError({"password": message})


def meter_settings(*, email: str | None = None, name: str | None = None) -> dict:
    """What the strength meter needs: the rules, the context words and its words."""
    return {
        "min_length": current_app.config["PASSWORD_MIN_LENGTH"],
        "min_score": MIN_SCORE,
        "context": context_words(email=email, name=name),
        "texts": {
            **{key: str(text) for key, text in FEEDBACK.items()},
            "levels": [
                _("très faible"),
                _("faible"),
                _("moyenne"),
                _("bonne"),
                _("très bonne"),
            ],
            "strength": _("Solidité du mot de passe : %(level)s.", level="{level}"),
            "too_short": _(
                "Trop court : %(n)d caractères au moins (%(count)s pour l’instant).",
                n=current_app.config["PASSWORD_MIN_LENGTH"],
                count="{count}",
            ),
            "context": _(
                "Il repose sur votre nom, votre adresse électronique ou le nom du service "
                "(%(words)s).",
                words="{words}",
            ),
            "refused": _("Ce mot de passe sera refusé."),
            "accepted": _("Ce mot de passe sera accepté."),
            "loading": _("Évaluation du mot de passe…"),
        },
    }
