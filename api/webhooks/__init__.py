"""Webhooks: subscriptions' targets checked, deliveries signed (Standard Webhooks), and the
deliverer that pushes the feed to them from the workers."""
