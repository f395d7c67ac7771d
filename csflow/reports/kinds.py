"""Timeline event kinds the rollup statements group, named once for all of them."""

from __future__ import annotations

# Kinds that answer the customer for the first time (first response), and that end a
# wait on the customer (pauses are not counted as handling time).
RESPONSES = "('plan_submitted', 'progress_posted', 'resolution_proposed')"
WAIT_STARTS = "('clocks_paused', 'awaiting_customer')"
WAIT_ENDS = "('clocks_resumed', 'customer_replied', 'resolution_proposed', 'closed', 'cancelled')"
