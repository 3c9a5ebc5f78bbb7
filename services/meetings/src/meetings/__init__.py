"""The meetings service: video calls of a team (meetings, participants, attendance, providers)."""
