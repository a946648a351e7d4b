"""Search from parts: scorers, rules, selectors, one search state; greedy, beam and sampling."""
