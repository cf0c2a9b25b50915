"""Text order as Taskcluster's database sorts it.

Taskcluster's Postgres database sorts text with the en_US.UTF-8 collation
(in its deployments and its dev rig alike), so it lists tasks by taskId and
artifacts by name in that order, not byte by byte. For printable ASCII (all
that taskIds and artifact names hold): letters and digits compare first,
ignoring case and punctuation (`$` < digits < letters); on a tie, lower case
comes before upper case; on a tie again, the punctuation marks decide, place
by place, in the order of _PUNCTUATION. tests/test_order.py checks this
against the C library's own en_US.UTF-8 where it is installed.
"""

from __future__ import annotations

import functools

COLLATION = "taskcluster"  # its name in SQL: `ORDER BY name COLLATE taskcluster`
_PRIMARY = "$0123456789abcdefghijklmnopqrstuvwxyz"
_PUNCTUATION = " !\"#%&'()*+,-./:;<=>?@[\\]^_`{|}~"


@functools.lru_cache(maxsize=4096)  # an index insert compares with the same few names
def collation_key(text: str) -> tuple[tuple[int, ...], ...]:
    """A sort key that orders text as Taskcluster's database does (characters
    beyond printable ASCII, which no name holds, sort after letters)."""
    primary, case, punctuation = [], [], []
    for char in text:
        if char in _PUNCTUATION:
            punctuation.append(_PUNCTUATION.index(char))
            continue
        folded = char.lower()
        index = _PRIMARY.find(folded)
        primary.append(index if index >= 0 else len(_PRIMARY) + ord(char))
        case.append(int(char != folded))
        punctuation.append(len(_PUNCTUATION))
    return tuple(primary), tuple(case), tuple(punctuation)


def collate(left: str, right: str) -> int:
    """SQLite's comparison function for COLLATION: negative, zero or positive."""
    a, b = collation_key(left), collation_key(right)
    return (a > b) - (a < b)
