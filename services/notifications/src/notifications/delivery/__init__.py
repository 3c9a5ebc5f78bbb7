"""From a draft (what an event means for one user) to a delivered or held notification."""
