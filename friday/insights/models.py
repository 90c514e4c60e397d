"""Insights: per-customer figures kept current from events, the customer-value model, risk and its reasons."""
