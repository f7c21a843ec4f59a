"""The paper venue: simulated execution against the live quote stream (see ``venue`` for the fill rules)."""

from marketcore.paper.config import PaperVenueConfig
from marketcore.paper.pricing import fee, taker_price
from marketcore.paper.venue import PaperVenue, Quote

__all__ = ["PaperVenue", "PaperVenueConfig", "Quote", "fee", "taker_price"]
