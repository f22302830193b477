"""Development bearer tokens, signed with the key pair `make setup` keeps in its cache (never in
the repository). Prints the token alone, so scripts can capture it:

    TOKEN=$(make -s token SUB=alice ROLE=customer)
    .venv/bin/python -m apps.gateway.devtoken --sub alice --role customer [--minutes 60]

The issuer, audience and key paths come from the same settings the gateway reads
(apps/gateway/settings.py), so its tokens are the ones the local gateway accepts.
"""

from __future__ import annotations

import argparse
import re
import sys
from datetime import timedelta

from apps.common.contracts import IDENTIFIER_PATTERN
from apps.gateway.settings import TokenSettings
from apps.gateway.tokens import Role, load_private_key, mint_token

MAX_LIFETIME = timedelta(hours=24)


def issue(
    subject: str,
    role: Role,
    lifetime: timedelta = timedelta(hours=1),
    settings: TokenSettings | None = None,
) -> str:
    settings = settings or TokenSettings.from_env()
    return mint_token(
        load_private_key(settings.private_key_file),
        subject=subject,
        role=role,
        issuer=settings.issuer,
        audience=settings.audience,
        lifetime=lifetime,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Print a development bearer token.")
    parser.add_argument("--sub", required=True, help="the subject: a customer id, or an admin")
    parser.add_argument("--role", required=True, choices=[r.value for r in Role])
    parser.add_argument("--minutes", type=int, default=60, help="lifetime (at most 24 h)")
    args = parser.parse_args(argv)
    if not (len(args.sub) <= 64 and re.fullmatch(IDENTIFIER_PATTERN, args.sub)):
        parser.error("--sub must be an id: 1-64 letters, digits and ._:@-")
    lifetime = timedelta(minutes=args.minutes)
    if not timedelta(0) < lifetime <= MAX_LIFETIME:
        parser.error("--minutes must be 1..1440")
    settings = TokenSettings.from_env()
    try:
        token = issue(args.sub, Role(args.role), lifetime, settings)
    except (OSError, ValueError) as exc:
        print(
            f"cannot sign with {settings.private_key_file}: {exc}\n"
            "run `make setup` to create the development key pair",
            file=sys.stderr,
        )
        return 1
    print(token)
    return 0


if __name__ == "__main__":
    sys.exit(main())
