"""The API with a real worker, as in tests/api (the plaintext hunt drives it end to end)."""

from tests.api.conftest import api  # noqa: F401  (a fixture, used by name)
