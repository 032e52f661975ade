"""Books: which strategies trade with what capital, their rebalance plans, and netting.

Pure domain logic (no I/O beyond reading the books file and its strategies):

* ``config``      -- ``strategies/books.yaml`` per stage -> ``BookConfig`` list
* ``planning``    -- one book's target weights -> ``BookPlan`` (its own trades)
* ``netting``     -- every book's trades -> one broker order per symbol (``OrderPlan``)
* ``attribution`` -- one order's execution -> per-book ``FillRecord``s
* ``client_ids``  -- deterministic broker client order ids (<= 48 chars)

``config`` is not re-exported: it reads symphonies with the engine (numpy, pandas),
which the functions that only net, execute or notify must not import.
"""

from alchemiser.books.attribution import (
    attribute_crosses,
    attribute_fills,
    attribute_order_plan,
    cross_fills,
)
from alchemiser.books.client_ids import client_order_id, step_client_order_id
from alchemiser.books.netting import net_book_trades, reference_prices, split_pro_rata
from alchemiser.books.planning import PlanningSettings, plan_book_rebalance, trade_notional

__all__ = [
    "PlanningSettings",
    "attribute_crosses",
    "attribute_fills",
    "attribute_order_plan",
    "client_order_id",
    "cross_fills",
    "net_book_trades",
    "plan_book_rebalance",
    "reference_prices",
    "split_pro_rata",
    "step_client_order_id",
    "trade_notional",
]
