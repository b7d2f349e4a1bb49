"""The product ids a walk over the Starweb product list has seen, kept in 8 bytes an id.

:meth:`~brygga_starweb.catalog.StarwebCatalog.all_articles` reads the list sorted by
``productId`` ascending and must not yield a product twice when the walk reads from page 1
again (a product deleted under it) or a page repeats. A ``set`` of the ids costs about 90
bytes a product, which for a big catalog is the initial sync's largest cost that grows with
the source (issue [9/9], "big catalog"). Ids arriving in ascending order, as they do, go into
an ``array`` (8 bytes each, looked up by bisection); an id that arrives out of order goes into
a small ``set`` beside it, so any order is still answered exactly.
"""

from __future__ import annotations

from array import array
from bisect import bisect_left

__all__ = ["SeenIds"]

_LOW, _HIGH = -(2**63), 2**63


class SeenIds:
    """A set of ints, compact for ids that mostly arrive in ascending order."""

    def __init__(self) -> None:
        self._run = array("q")
        self._other: set[int] = set()

    def first_time(self, n: int) -> bool:
        """True when ``n`` was not seen before (and note it); False for a repeat."""
        run = self._run
        if _LOW <= n < _HIGH and (not run or n > run[-1]):
            run.append(n)
            return True
        if run:
            i = bisect_left(run, n) if _LOW <= n < _HIGH else len(run)
            if i < len(run) and run[i] == n:
                return False
        if n in self._other:
            return False
        self._other.add(n)
        return True

    def __len__(self) -> int:
        return len(self._run) + len(self._other)
