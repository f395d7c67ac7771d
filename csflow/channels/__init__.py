"""Notification channels, one file each behind one interface (`base.Channel`)."""
