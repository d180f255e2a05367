"""The feed-polling benchmark: 1,000 local feeds × 50 items, a full poll and a re-poll.

``python -m bench.feeds`` (see ``__main__``); the feeds come from ``bench.feeds.server``,
run as a separate process so the server's work is not charged to the poller.
"""
