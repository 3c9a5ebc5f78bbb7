"""The notifications service: notifications made from domain events, held while their user
focuses or is in quiet hours, delivered in the app, on the live socket and by e-mail."""
