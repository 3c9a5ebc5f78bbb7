"""The calendar service: team and personal events, recurrence, reminders, ICS feeds, task
deadlines and meetings."""
