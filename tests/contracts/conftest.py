"""Contract tests. The ones here need no stack (they run with the unit tests); tests/contracts/stack
verifies the pacts against the real apps and captures real messages (with the integration tests,
on the stack they start)."""

from __future__ import annotations

import os

# pact-python's core would otherwise try to send anonymous usage statistics.
os.environ.setdefault("PACT_DO_NOT_TRACK", "true")
