"""iCalendar (RFC 5545) output: the per-user secret feed and single events."""
