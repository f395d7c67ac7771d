-- The reports' "open improvement tasks at the end of the period" (docs/reports.md), read
-- without scanning every improvement ever opened (issue 17). The workflow ends a request
-- only once none of its improvement tasks is open (or when someone closes it by hand,
-- which abandons the task), so a task counted open at a period's end belongs to a request
-- with no end before it: the reports start from those requests (still open, or ended
-- after the period) and look their improvement events up here. Building them reads each
-- table once and holds off writes to it meanwhile (minutes at hundreds of millions of
-- events): upgrade a large installation in a quiet hour.
CREATE INDEX requests_closed_at ON requests (closed_at) INCLUDE (number);
CREATE INDEX request_events_improvements ON request_events (number)
    WHERE kind IN ('improvement_opened', 'improvement_closed');
