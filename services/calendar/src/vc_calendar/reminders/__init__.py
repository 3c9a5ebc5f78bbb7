"""Reminders of events and the scheduler that fires them, once per occurrence."""
