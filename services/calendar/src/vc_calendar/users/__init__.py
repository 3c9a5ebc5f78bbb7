"""Users' profile timezones, as identity's events tell them (``vc_common.timezones``)."""
