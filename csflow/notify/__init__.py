"""Notifications (SPEC §5): what to tell whom, in which words, through which channel."""
