"""Timeline event kinds the rollup statements group, named once for all of them.

Built from `EventKind`, so a renamed or removed kind fails at import instead of silently
matching nothing in SQL; kinds written literally in report SQL are checked by a test.
"""

from __future__ import annotations

from csflow.domain.events import EventKind as K
from csflow.domain.events import sql_list

# Kinds that answer the customer for the first time (first response), and that end a
# wait on the customer (pauses are not counted as handling time).
RESPONSES = sql_list(K.PLAN_SUBMITTED, K.PROGRESS_POSTED, K.RESOLUTION_PROPOSED)
WAIT_STARTS = sql_list(K.CLOCKS_PAUSED, K.AWAITING_CUSTOMER)
WAIT_ENDS = sql_list(
    K.CLOCKS_RESUMED, K.CUSTOMER_REPLIED, K.RESOLUTION_PROPOSED, K.CLOSED, K.CANCELLED
)
