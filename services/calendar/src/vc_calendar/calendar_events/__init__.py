"""Events (team or personal), their attendees and occurrences, and the range query."""
