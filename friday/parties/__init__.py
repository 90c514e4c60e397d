"""Parties: people and organisations, their contact points, roles, custom fields and shared timeline."""
