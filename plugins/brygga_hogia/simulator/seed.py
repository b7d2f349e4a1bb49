"""The Hogia simulator's starting articles: the three helper articles and the shop's catalog."""

from __future__ import annotations

# no variant structure: each size of the sweater is an article of its own (CATALOG)
from brygga.testing.democatalog import CATALOG, FEE_ARTICLES, SeedArticle

__all__ = ["CATALOG", "HELPERS", "SeedArticle"]

#: §4.1 [H1]: fraktavg, expavg and rabatt must exist; avrundning for öre rounding
HELPERS = FEE_ARTICLES
