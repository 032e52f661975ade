"""The options hedge: one book of index puts protecting the whole account.

* ``policy`` / ``policy_config`` -- the stage's ``hedge:`` in books.yaml, templates, limits
* ``exposure``  -- the account's dollar delta to QQQ/SPY, from the books' return streams
* ``pricing``   -- Black-Scholes prices and greeks
* ``chain``     -- chain screening (fail closed) and contract selection per template
* ``iv_regime`` -- today's ATM IV against the stored history
* ``sizing``    -- payoff-first sizing clipped by premium budgets and limits
* ``execution`` -- limit orders walking from mid, one multi-leg order for spreads
* ``roll``      -- marking held hedges and the roll rules
* ``book``      -- the hedge book's state (open hedges, premium history)
* ``daily``     -- one day of the hedge book, end to end
* ``backtest``  -- protected vs unprotected equity over history
"""
