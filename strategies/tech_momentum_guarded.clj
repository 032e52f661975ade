; TECL/TQQQ-style tech momentum with volatility guards (house strategy).
; In an uptrend, ride the stronger of TQQQ and TECL unless tech is overbought
; (-> volatility) or turbulent (-> T-bills). In a downtrend, buy deep oversold
; dips in TECL, otherwise hedge with the stronger of SQQQ and short bonds.
(defsymphony
 "Tech Momentum with Volatility Guards"
 {:asset-class "EQUITIES", :rebalance-frequency :daily}
 (weight-equal
  [(if
    (> (current-price "QQQ") (moving-average-price "QQQ" {:window 200}))
    [(if
      (> (rsi "TQQQ" {:window 10}) 80)
      [(asset "UVXY" "ProShares Ultra VIX Short-Term Futures ETF")]
      [(if
        (> (stdev-return "TQQQ" {:window 10}) 5)
        [(asset "BIL" "SPDR Bloomberg 1-3 Month T-Bill ETF")]
        [(filter
          (moving-average-return {:window 20})
          (select-top 1)
          [(asset "TQQQ" "ProShares UltraPro QQQ")
           (asset "TECL" "Direxion Daily Technology Bull 3X Shares")])])])]
    [(if
      (< (rsi "TQQQ" {:window 10}) 31)
      [(asset "TECL" "Direxion Daily Technology Bull 3X Shares")]
      [(if
        (< (current-price "QQQ") (moving-average-price "QQQ" {:window 20}))
        [(filter
          (rsi {:window 10})
          (select-top 1)
          [(asset "SQQQ" "ProShares UltraPro Short QQQ")
           (asset "BSV" "Vanguard Short-Term Bond ETF")])]
        [(asset "TQQQ" "ProShares UltraPro QQQ")])])])]))
