#!/usr/bin/env bash
# Translation workflow for Vigie (Flask-Babel).
#
# Source strings (msgids) are written in French, the default UI language;
# translations/<lang>/LC_MESSAGES/messages.po holds the other languages.
# The .pot and .po files are committed; compiled .mo files are not
# (`make translations` builds them).
#
# Usage: scripts/i18n.sh {extract|update|compile|check|init LANG}
#   extract  regenerate translations/messages.pot from webapp/ and templates/
#   update   extract, then merge the template into every catalogue
#   compile  build the .mo files
#   check    fail (and list the entries) if a catalogue has untranslated
#            or fuzzy entries, or does not compile
#   init     create the catalogue for a new language (e.g. `init de`)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

PYBABEL="${PYBABEL:-$ROOT/.venv/bin/pybabel}"
PYTHON="${PYTHON:-$ROOT/.venv/bin/python}"
if [[ ! -x "$PYBABEL" ]]; then
    PYBABEL="$(command -v pybabel || true)"
fi
if [[ -z "$PYBABEL" ]]; then
    echo "i18n.sh: pybabel not found (run \`make venv\`)" >&2
    exit 1
fi
if [[ ! -x "$PYTHON" ]]; then
    PYTHON="$(command -v python3)"
fi

DOMAIN_DIR="translations"
POT="$DOMAIN_DIR/messages.pot"
# Languages with a catalogue; French is the source language and has none.
LANGS=(en)

extract() {
    mkdir -p "$DOMAIN_DIR"
    POT_TMP="$(mktemp "$DOMAIN_DIR/.messages.pot.XXXXXX")"
    trap 'rm -f "${POT_TMP:-}"' EXIT
    local tmp="$POT_TMP"
    # --no-location and --sort-output keep diffs small when code moves around.
    # _, gettext and ngettext are default keywords; add the lazy variants, and plural_forms
    # (a pair of forms kept for a later ngettext, as the wall's counts are).
    "$PYBABEL" -q extract \
        --mapping-file=babel.cfg \
        --keywords=_l --keywords=lazy_gettext --keywords=lazy_ngettext:1,2 \
        --keywords=plural_forms:1,2 \
        --add-comments=TRANSLATORS: \
        --no-location \
        --sort-output \
        --project=Vigie \
        --copyright-holder=Vigie \
        --ignore-dirs='.* ._ node_modules static instance migrations' \
        --no-wrap \
        --output-file="$tmp" \
        .
    # Keep the old file when only the creation date changed: no churn.
    if [[ -f "$POT" ]] && diff -q <(grep -v '^"POT-Creation-Date:' "$POT") \
        <(grep -v '^"POT-Creation-Date:' "$tmp") >/dev/null; then
        rm -f "$tmp"
        echo "$POT is up to date ($(grep -c '^msgid ' "$POT") entries incl. header)"
    else
        mv "$tmp" "$POT"
        echo "Extracted $(grep -c '^msgid ' "$POT") entries (incl. header) to $POT"
    fi
}

update() {
    extract
    local lang
    for lang in "${LANGS[@]}"; do
        if [[ ! -f "$DOMAIN_DIR/$lang/LC_MESSAGES/messages.po" ]]; then
            "$PYBABEL" -q init --input-file="$POT" --output-dir="$DOMAIN_DIR" \
                --locale="$lang" --no-wrap
        fi
    done
    # No fuzzy matching: a guessed translation is worse than a visible gap,
    # and `check` would reject it anyway. Obsolete entries are dropped so
    # the catalogue only holds what the code still uses.
    "$PYBABEL" -q update \
        --input-file="$POT" \
        --output-dir="$DOMAIN_DIR" \
        --no-fuzzy-matching \
        --ignore-obsolete \
        --no-wrap
    check_catalogues report
}

compile() {
    "$PYBABEL" compile --directory="$DOMAIN_DIR" --statistics
}

# check_catalogues [report]
# Lists untranslated and fuzzy entries. Without "report" it also verifies
# placeholders and that the catalogue compiles, and fails on any problem.
check_catalogues() {
    local mode="${1:-strict}"
    local status=0 lang po
    for lang in "${LANGS[@]}"; do
        po="$DOMAIN_DIR/$lang/LC_MESSAGES/messages.po"
        if [[ ! -f "$po" ]]; then
            echo "$po: missing (run \`scripts/i18n.sh update\`)" >&2
            status=1
            continue
        fi
        "$PYTHON" - "$po" "$mode" <<'PY' || status=1
import re
import sys

from babel.messages.pofile import read_po

path, mode = sys.argv[1], sys.argv[2]
with open(path, "rb") as fh:
    catalog = read_po(fh)

PLACEHOLDER = re.compile(r"%\((\w+)\)[#0\- +]*\d*(?:\.\d+)?[diouxXeEfFgGcrsa]|%[sd]")
untranslated, fuzzy, bad = [], [], []
for msg in catalog:
    if not msg.id:
        continue
    ids = msg.id if isinstance(msg.id, (list, tuple)) else (msg.id,)
    strs = msg.string if isinstance(msg.string, (list, tuple)) else (msg.string,)
    label = ids[0]
    if msg.fuzzy:
        fuzzy.append(label)
    elif not all(strs):
        untranslated.append(label)
        continue
    wanted = set(PLACEHOLDER.findall(" ".join(ids))) or set()
    for s in strs:
        got = set(PLACEHOLDER.findall(s))
        # A singular form may drop %(num)d ("one alert"), nothing else.
        if len(ids) > 1:
            got |= {"num"} & wanted
        if got != wanted:
            bad.append(f"{label!r} -> {s!r}")

ok = True
for title, items in (("untranslated", untranslated), ("fuzzy", fuzzy),
                     ("placeholder mismatch", bad)):
    if items:
        ok = False
        print(f"{path}: {len(items)} {title}:")
        for item in items:
            print(f"  - {item}")
total = sum(1 for m in catalog if m.id)
if ok:
    print(f"{path}: {total} messages, all translated")
sys.exit(0 if ok or mode == "report" else 1)
PY
    done
    if [[ "$mode" != "report" ]]; then
        # Catches format errors and missing plural forms. Writes nothing.
        local tmp
        tmp="$(mktemp -d)"
        for lang in "${LANGS[@]}"; do
            po="$DOMAIN_DIR/$lang/LC_MESSAGES/messages.po"
            [[ -f "$po" ]] || continue
            # -q: only errors reach stderr, so any output there is a failure.
            if ! "$PYBABEL" -q compile --input-file="$po" --output-file="$tmp/$lang.mo" \
                --locale="$lang" --use-fuzzy 2>"$tmp/err" || [[ -s "$tmp/err" ]]; then
                cat "$tmp/err" >&2
                echo "$po: does not compile cleanly" >&2
                status=1
            fi
        done
        rm -rf "$tmp"
        if [[ "$status" -eq 0 ]]; then echo "All catalogues compile."; fi
    fi
    return "$status"
}

cmd="${1:-}"
case "$cmd" in
    extract) extract ;;
    update) update ;;
    compile) compile ;;
    check) check_catalogues ;;
    init)
        [[ -n "${2:-}" ]] || { echo "usage: $0 init LANG" >&2; exit 2; }
        extract
        "$PYBABEL" -q init --input-file="$POT" --output-dir="$DOMAIN_DIR" --locale="$2" --no-wrap
        echo "Add '$2' to LANGS in $0 and to LANGUAGES in webapp/config.py"
        ;;
    *)
        echo "usage: $0 {extract|update|compile|check|init LANG}" >&2
        exit 2
        ;;
esac
