"""What analytics publishes: nothing. It is a pure reader of the other contexts' events; its
answers are its routes (see the README). An event it one day publishes goes through the outbox
like every service's (``vc_common.events.outbox.add_event`` in the transaction of the change)."""

SOURCE = "analytics"
