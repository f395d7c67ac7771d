"""Analytics: the live board's data, daily and weekly reports, the demand forecast."""
