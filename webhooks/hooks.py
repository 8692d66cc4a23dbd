"""What the webhooks app plugs into shared mechanisms: its dispatch channel."""

from portal import dispatch

from . import services

dispatch.register(dispatch.Channel(services.CHANNEL, process=services.process, due=services.due_for_redrive))
