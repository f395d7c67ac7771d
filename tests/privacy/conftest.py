"""The API with a real worker, as in tests/api (the plaintext hunt drives it end to end),
and the live API with Chromium, as in tests/browser (the Temporal UI through the codec)."""

from tests.api.conftest import api  # noqa: F401  (fixtures, used by name)
from tests.browser.conftest import browser, live  # noqa: F401
