"""Configuration read at the edge: the policy file, the holiday calendar, the SLA terms.

Everything here touches the disk or a third-party data library, so only process entry
points (worker, API, CLI, starter) import it; workflows receive its results as data.

- `csflow.config.policy` — `load_policy(path)`, `policy_from_env()`, `PolicyError`.
- `csflow.config.calendar` — holiday lists from `chinese-calendar` → `BusinessCalendar`.
- `csflow.config.terms` — `TermsProvider`: a request's SLA terms from policy + calendar.
"""
