"""What other contexts put in the calendar, learned from their events only: the due dates of
tasks (all-day ``deadline`` items for the team's members) and meetings (``meeting`` items for
their participants)."""
