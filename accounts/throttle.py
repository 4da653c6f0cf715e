"""Sign-in throttling: failed sign-ins are counted per account and per address in the store, so
every worker process agrees. Past a limit, a sign-in is refused before the password is checked
(each check costs an argon2 hash of 64 MiB) until the oldest failure leaves the window."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import text
from sqlalchemy.engine import Connection

from accounts.users import AccountError


@dataclass(frozen=True)
class SignInLimits:
    """Failed sign-ins allowed within ``window``: per account name and per client address."""

    per_account: int = 5
    per_address: int = 30
    window: timedelta = timedelta(minutes=15)


class SignInThrottled(AccountError):
    """Too many failed sign-ins; ``retry_after`` seconds until the next try is taken."""

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


def account_key(username: str) -> str:
    """The name failures count against (as sign-in reads it: blanks stripped, lower case)."""
    return username.strip().lower()[:100]


def check_sign_in(conn: Connection, username: str, address: str, limits: SignInLimits) -> None:
    """Refuse a sign-in over the limits (raises ``SignInThrottled``). Attempts at one account
    are serialised for the transaction, so concurrent tries cannot all pass the count."""
    name = account_key(username)
    conn.execute(text("SELECT pg_advisory_xact_lock(hashtext('sign-in:' || :u))"), {"u": name})
    row = conn.execute(
        text(
            """
            SELECT (SELECT count(*) FROM sign_in_failures WHERE username = :u AND at > now() - :w)
                       AS by_account,
                   (SELECT min(at) + :w - now() FROM sign_in_failures
                     WHERE username = :u AND at > now() - :w) AS account_wait,
                   (SELECT count(*) FROM sign_in_failures WHERE address = :a AND at > now() - :w)
                       AS by_address,
                   (SELECT min(at) + :w - now() FROM sign_in_failures
                     WHERE address = :a AND at > now() - :w) AS address_wait
            """
        ),
        {"u": name, "a": address, "w": limits.window},
    ).one()
    waits = []
    if row.by_account >= limits.per_account:
        waits.append(row.account_wait)
    if row.by_address >= limits.per_address:
        waits.append(row.address_wait)
    if waits:
        seconds = max(1, math.ceil(max(waits).total_seconds()))
        minutes = math.ceil(seconds / 60)
        raise SignInThrottled(
            "Zu viele fehlgeschlagene Anmeldungen. Bitte in "
            f"{minutes} Minute{'' if minutes == 1 else 'n'} erneut versuchen.",
            seconds,
        )


def record_failure(conn: Connection, username: str, address: str, limits: SignInLimits) -> None:
    conn.execute(
        text("INSERT INTO sign_in_failures (username, address) VALUES (:u, :a)"),
        {"u": account_key(username), "a": address},
    )
    conn.execute(text("DELETE FROM sign_in_failures WHERE at < now() - :w"), {"w": limits.window})


def clear_failures(conn: Connection, username: str) -> None:
    """After a successful sign-in the account starts afresh (its address count stays)."""
    conn.execute(
        text("DELETE FROM sign_in_failures WHERE username = :u"), {"u": account_key(username)}
    )
