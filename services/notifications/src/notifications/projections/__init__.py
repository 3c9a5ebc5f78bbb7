"""What notifications keeps of other contexts, learned from their events (never their
databases): identity's users, focus's running sessions, teams' names."""
