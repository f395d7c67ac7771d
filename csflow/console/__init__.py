"""The console: the web workspace where agents, supervisors and follow-up specialists
work their requests (docs/console.md). Pages live in csflow/api/pages/console, routes in
csflow/api/routes/console/; this package holds what they are built from."""
