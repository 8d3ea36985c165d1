"""Content-hashed static names (webapp/assets.py): hashes follow content and imports."""

from __future__ import annotations

import re

from webapp.assets import build_manifest


def _folder(tmp_path):
    (tmp_path / "js").mkdir()
    (tmp_path / "css").mkdir()
    (tmp_path / "css" / "site.css").write_text("body { color: #123; }\n")
    (tmp_path / "js" / "clock.js").write_text("export const tick = 1;\n")
    (tmp_path / "js" / "map.js").write_text(
        'import { tick } from "./clock.js";\nimport "../js/clock.js";\n'
        'const lazy = () => import("./clock.js");\nconsole.log("./clock.js", tick, lazy);\n'
    )
    (tmp_path / "manifest.webmanifest").write_text('{"name": "Vigie"}\n')
    return tmp_path


def test_each_file_gets_the_hash_of_its_content_before_its_suffix(tmp_path):
    manifest = build_manifest(_folder(tmp_path))
    css = manifest.by_name["css/site.css"]
    assert re.fullmatch(r"css/site\.[0-9a-f]{12}\.css", css.hashed)
    assert manifest.by_hashed[css.hashed] is css
    assert manifest.url_name("css/site.css") == css.hashed
    assert manifest.url_name("css/unknown.css") == "css/unknown.css"
    # The web app manifest keeps its name: browsers know an installed app by it.
    assert manifest.url_name("manifest.webmanifest") == "manifest.webmanifest"


def test_a_changed_file_changes_its_hash_and_an_unchanged_one_keeps_it(tmp_path):
    folder = _folder(tmp_path)
    before = build_manifest(folder)
    (folder / "css" / "site.css").write_text("body { color: #456; }\n")
    after = build_manifest(folder)
    assert after.url_name("css/site.css") != before.url_name("css/site.css")
    assert after.url_name("js/clock.js") == before.url_name("js/clock.js")


def test_modules_import_the_hashed_files_and_change_with_them(tmp_path):
    folder = _folder(tmp_path)
    before = build_manifest(folder)
    clock = before.by_name["js/clock.js"].hashed.rsplit("/", 1)[1]
    body = before.by_name["js/map.js"].body.decode()
    assert f'from "./{clock}"' in body
    assert f'import "../js/{clock}"' in body
    assert f'import("./{clock}")' in body
    assert 'console.log("./clock.js"' in body  # a string that is not an import stays
    assert before.by_name["js/map.js"].source.decode().count("./clock.js") == 3
    (folder / "js" / "clock.js").write_text("export const tick = 2;\n")
    after = build_manifest(folder)
    # map.js did not change, but what it imports did: a new name, or browsers keep the old.
    assert after.url_name("js/map.js") != before.url_name("js/map.js")
