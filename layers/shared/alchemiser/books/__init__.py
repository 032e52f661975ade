"""Books: which strategies trade with what capital, their rebalance plans, and netting.

Pure domain logic (no I/O beyond reading the books file and its strategies):

* ``config``      -- ``strategies/books.yaml`` per stage -> ``BookConfig`` list
* ``planning``    -- one book's target weights -> ``BookPlan`` (its own trades)
* ``netting``     -- every book's trades -> one broker order per symbol (``OrderPlan``)
* ``attribution`` -- one order's execution -> per-book ``FillRecord``s
* ``client_ids``  -- deterministic broker client order ids (<= 48 chars)

Import the modules themselves: the package re-exports nothing, so a function that only
nets, executes or notifies never loads ``config`` (which reads symphonies with the
engine), and reading books.yaml (``alchemiser validate``) never loads the planning and
broker models.
"""
