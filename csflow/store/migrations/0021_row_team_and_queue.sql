-- The request row holds the whole view (docs/events.md): the holder's team (recorded at
-- every assignment, for `team_supervisor`) and whether it waits in the queue for an agent
-- were the two facts only the workflow knew, so a caller reading the view after a command
-- had to ask the workflow. Rows written before this migration get them at their next
-- change of holder.
ALTER TABLE requests ADD COLUMN team text;
ALTER TABLE requests ADD COLUMN queued boolean NOT NULL DEFAULT false;
