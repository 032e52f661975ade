; KLM-style ensemble with filters over groups (house strategy).
; Volatility pops first; otherwise keep the two sub-strategies whose own
; simulated 10-day return is best (groups are scored on their return streams).
(defsymphony
 "KLM-style Ensemble"
 {:asset-class "EQUITIES", :rebalance-threshold 0.05}
 (weight-equal
  [(if
    (> (rsi "QQQE" {:window 10}) 79)
    [(asset "UVXY" "ProShares Ultra VIX Short-Term Futures ETF")]
    [(if
      (> (rsi "VTV" {:window 10}) 79)
      [(asset "UVXY" "ProShares Ultra VIX Short-Term Futures ETF")]
      [(filter
        (moving-average-return {:window 10})
        (select-top 2)
        [(group
          "KMLM switcher"
          [(if
            (> (rsi "XLK" {:window 10}) (rsi "KMLM" {:window 10}))
            [(filter
              (rsi {:window 10})
              (select-bottom 1)
              [(asset "TECL" "Direxion Daily Technology Bull 3X Shares")
               (asset "SOXL" "Direxion Daily Semiconductor Bull 3X Shares")])]
            [(filter
              (rsi {:window 10})
              (select-top 1)
              [(asset "SQQQ" "ProShares UltraPro Short QQQ")
               (asset "TLT" "iShares 20+ Year Treasury Bond ETF")])])])
         (group
          "Bond rotation"
          [(filter
            (cumulative-return {:window 20})
            (select-top 1)
            [(asset "TLT" "iShares 20+ Year Treasury Bond ETF")
             (asset "IEF" "iShares 7-10 Year Treasury Bond ETF")
             (asset "SHY" "iShares 1-3 Year Treasury Bond ETF")])])
         (group
          "Gold and dollar"
          [(weight-inverse-volatility
            20
            [(asset "GLD" "SPDR Gold Shares")
             (asset "UUP" "Invesco DB US Dollar Index Bullish Fund")])])
         (group
          "Calm sectors"
          [(filter
            (stdev-return {:window 10})
            (select-bottom 2)
            [(asset "XLP" "Consumer Staples Select Sector SPDR Fund")
             (asset "XLU" "Utilities Select Sector SPDR Fund")
             (asset "XLY" "Consumer Discretionary Select Sector SPDR Fund")
             (asset "XLF" "Financial Select Sector SPDR Fund")])])])])])]))
