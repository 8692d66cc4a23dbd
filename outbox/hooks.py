"""What the outbox plugs into shared mechanisms: its dispatch channel."""

from portal import dispatch

from . import services

dispatch.register(dispatch.Channel(services.CHANNEL, process=services.send, due=services.due_for_redrive))
