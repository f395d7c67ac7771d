"""Notifications (docs/requirements.md §5): what to tell whom, in which words, through
which channel."""
