"""Dialogs: each exposes what the admin entered as a property and saves through a service."""
