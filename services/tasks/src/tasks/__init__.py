"""VirtualCoworking tasks service: the team's kanban boards."""
