"""Delivery channels: how one message of the outbox reaches one person.

Every channel takes an :class:`~webapp.channels.base.Outgoing` and answers a
:class:`~webapp.channels.base.SendResult`; it never touches the database (the
outbox worker records the outcome). Channels import nothing from services.
"""
