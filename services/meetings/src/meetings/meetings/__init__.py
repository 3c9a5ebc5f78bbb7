"""Meetings of a team: the meeting, its state machine, its participants and their attendance."""
