"""The stack-dependent contract tests share the stack the integration tests start (run them in the
same pytest session: `pytest tests/integration tests/contracts/stack`); alone, they start it."""

from tests.integration.conftest import api, stack, unique  # noqa: F401  (fixtures)
