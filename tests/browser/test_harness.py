"""The watchers themselves: a CSP violation, a console error or a stray 500 is caught."""

from __future__ import annotations

import pytest

from tests.browser.helpers import first_backend_only
from tests.browser.helpers import run_axe

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("viewport", ["wall"], indirect=True)
@first_backend_only
def test_inline_script_and_style_are_blocked_and_reported(page, problems, viewport):
    page.goto("/connexion")
    page.evaluate("""() => {
      const script = document.createElement('script');
      script.textContent = 'window.__inlineRan = true';
      document.body.append(script);
      document.body.setAttribute('style', 'background: red');
      console.error('vigie harness test');
    }""")
    page.evaluate("() => 0")
    assert page.evaluate("() => window.__inlineRan === undefined"), "inline script ran"
    reported = "\n".join(problems)
    assert "CSP violation: script-src-elem blocked inline" in reported, reported
    assert "CSP violation: style-src-attr blocked inline" in reported, reported
    assert "console error: vigie harness test" in reported, reported
    # axe-core comes from the app's own origin: it runs under the CSP, with no violation.
    problems.clear()
    assert isinstance(run_axe(page), list)
    problems.check()


@pytest.mark.parametrize("viewport", ["wall"], indirect=True)
@first_backend_only
def test_unexpected_error_status_is_reported(page, problems, viewport):
    page.goto("/page-qui-n-existe-pas")
    assert problems == [f"HTTP 404 on GET {page.url}"]
    problems.clear()
    problems.expected_statuses.add(404)
    page.goto("/autre-page-absente")
    problems.check()
