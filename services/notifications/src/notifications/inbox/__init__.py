"""The inbox: a user's delivered notifications, their unread count, marking them read."""
