; Nuclear-style energy/volatility rotation (house strategy).
; Overbought market -> volatility; oversold -> a leveraged bounce; above the
; 200-day trend -> the strongest of energy, utilities, tech and staples;
; below it -> a volatility hedge when SPY is turbulent, else the calmest defensive.
(defsymphony
 "Nuclear Energy Rotation"
 {:asset-class "EQUITIES", :rebalance-frequency :daily}
 (weight-equal
  [(if
    (> (rsi "SPY" {:window 10}) 79)
    [(asset "UVXY" "ProShares Ultra VIX Short-Term Futures ETF")]
    [(if
      (< (rsi "SPY" {:window 10}) 30)
      [(asset "SPXL" "Direxion Daily S&P 500 Bull 3X Shares")]
      [(if
        (> (current-price "SPY") (moving-average-price "SPY" {:window 200}))
        [(group
          "Energy and utilities momentum"
          [(filter
            (cumulative-return {:window 60})
            (select-top 2)
            [(asset "XLE" "Energy Select Sector SPDR Fund")
             (asset "XLU" "Utilities Select Sector SPDR Fund")
             (asset "XLK" "Technology Select Sector SPDR Fund")
             (asset "XLP" "Consumer Staples Select Sector SPDR Fund")])])]
        [(group
          "Defensive volatility hedge"
          [(if
            (> (stdev-return "SPY" {:window 10}) 2)
            [(weight-equal
              [(asset "VIXM" "ProShares VIX Mid-Term Futures ETF")
               (asset "BIL" "SPDR Bloomberg 1-3 Month T-Bill ETF")])]
            [(filter
              (rsi {:window 10})
              (select-bottom 1)
              [(asset "XLE" "Energy Select Sector SPDR Fund")
               (asset "XLU" "Utilities Select Sector SPDR Fund")
               (asset "TLT" "iShares 20+ Year Treasury Bond ETF")])])])])])])]))
