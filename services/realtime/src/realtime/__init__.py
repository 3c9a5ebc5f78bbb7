"""The realtime service: one live socket per client for all their teams, and the team's now."""
