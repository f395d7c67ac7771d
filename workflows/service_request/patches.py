"""The ServiceRequest workflow's patches: the name each change to its command sequence is
marked by in history, in release order, with what it changed.

In a module of their own because both parts of the workflow ask them — the loop and the
Updates (workflow.py), the write (persistence.py) — and the write cannot import them from
the class that is built on it; kept together because their order matters: a run under
COMPACT_PATCH takes every patch above it as applied, without a marker of its own, and
asks only those in AFTER_COMPACT (`ServiceRequestWorkflow._patched`). A patch of a
concern with a module of its own is named there (eta.py, complaints.py, ladder.py), and
taken as applied under COMPACT_PATCH too.

A name never changes: it is the marker in every history recorded under it, and the
recorded histories in tests/workflows/histories/ replay against it
(tests/workflows/test_replay.py).
"""

from __future__ import annotations

# A write still refused is salvaged (dead letters); PersistState is set back to ok.
SALVAGE_PATCH = "persist-salvage"
# Ownership and four eyes are checked again in the handler (validators never run on replay).
AUTHORITY_PATCH = "ownership-and-four-eyes"
# `team_supervisor` means a supervisor of the holder's team (and the department's above
# it), not any supervisor of its department; the handler checks it so under this patch.
TEAM_PATCH = "ownership-by-team"
# The agent's compensation limit bounds the request's running total, not each grant.
COMPENSATION_TOTAL_PATCH = "compensation-running-total"
# Firings that fell due before csflow knew of the request are recorded, not announced.
QUIET_BACKLOG_PATCH = "quiet-backlog-firings"
# A director takeover moves the status on the ladder step's own event (status_from/to).
TAKEOVER_PATCH = "ladder-takeover-on-timeline"
# A priority change gives a breached clock time again (re-armed, ladder from the new
# deadline); before it, the breach and its old ladder stood (docs/sla.md, case 16).
REARM_PATCH = "sla-rearm-on-priority-change"
# A pause after a breach moves the clock's remaining ladder steps on by the pause.
LADDER_AFTER_PAUSE_PATCH = "sla-ladder-after-pause"
# Handovers notify the new holder and the customer; role alerts resolve through the
# organisation; customer times are local (csflow/notify/planner.py `_handovers`).
HANDOVER_PATCH = "org-handover-notices"
# The improvement child gets a reference to the problem, not the customer's words.
BY_REFERENCE_PATCH = "improvement-problem-by-reference"
# Reactivation (and so silence) never comes before the follow-up deadline: a request is
# not closed "silent" while its follow-up is still owed (docs/sla.md).
FOLLOW_UP_PATCH = "follow-up-silence-after-deadline"
# A close before the follow-up needs a role allowed to skip it and a reason, and waits
# for an open improvement task; the handler checks it again (docs/requirements.md §3.6).
CLOSE_PATCH = "close-keeps-the-follow-up"
# A flagged (upset) customer's first reply opens with a soothing phrase; the handler
# checks it again (docs/policy.md `[intake.soothing_openings]`).
SOOTHE_PATCH = "soothing-first-reply"
# History a lifecycle writes, cut down (docs/performance.md "lifecycle"): Updates and the
# run return a CommandReceipt, not the whole view (timeline and all) once per command;
# persist batches after the first carry only the row's changed columns, clocks by id,
# not a snapshot. One patch for both: each patch costs a marker and an upsert of
# TemporalChangeVersion in every history.
LEAN_HISTORY_PATCH = "receipts-and-row-changes"
# A request imported with the events recorded by hand (docs/import.md): they come as
# commands dated `at`, replayed in order; the clocks fire only up to the latest of them
# until all have come, so each SLA result is the one those original times give.
IMPORT_PATCH = "imported-history"
# History cut down further (docs/performance.md "The rest cut"): `resolve_terms` is asked
# with only what the policy reads and answers the compact terms (the calendar's dates
# from the receipt on, the customer's language's openings), as a local activity, like
# triage and the follow-up plan; each message travels as a `CompactNotification`, those
# one workflow task plans in one activity that answers nothing; timers, persists and
# compact sends carry no summary. A run under this patch takes
# every patch above as applied without asking (it started on code that has them all), so
# its history holds this one marker and one TemporalChangeVersion upsert instead of one
# per patch reached. Decided once, first thing in `run`: a run from before it replays
# with the patches it recorded.
COMPACT_PATCH = "compact-terms-and-messages"
# A timer's duration is counted from when the workflow task's last write committed (the
# worker's clock, answered by the persist and kept in its local activity's marker, so a
# replay counts the same), when that is later than `workflow.now()`: the server starts a
# timer only when the task that arms it completes, and within a task `workflow.now()` is
# moved on by each local activity's run time but not by the worker's dispatching between
# them, which at intake under load added up to a second on every clock the task armed
# (docs/performance.md, "Where a late firing's seconds go").
ARM_AFTER_WRITE_PATCH = "timers-from-the-write"
# The compact messages a workflow task planned travel in its persist (a local activity,
# whose input history does not keep) and are written to the outbox in the same
# transaction as the events that planned them; the worker's dispatcher sends them
# (csflow/notify/dispatcher.py). Before, each task's messages were one more activity:
# three events, a workflow task for its completion and, for a run evicted from the
# worker's cache, a replay of the whole history — on every SLA firing that told anyone.
MESSAGES_IN_THE_WRITE_PATCH = "messages-in-the-write"
# Patches released after COMPACT_PATCH: a run under it has them only if it says so.
AFTER_COMPACT = frozenset({ARM_AFTER_WRITE_PATCH, MESSAGES_IN_THE_WRITE_PATCH})
