"""The live pipeline: snapshot, monitor, store, status, diff, poller, leader and events."""
