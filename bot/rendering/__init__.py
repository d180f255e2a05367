"""Rendering: domain objects → what Telegram shows. Pure functions, no I/O.

One module per surface, over one shared base:

- ``base``: Telegram's limits, escaping, ``Rendered``, dates, and every callback prefix;
- ``reading``: /latest, /search, the article page, /help;
- ``push``: a pushed article and the Bot API calls that send, correct or retract it;
- ``digest``: held articles sent together;
- ``subscriptions``: /subscribe and friends, groups and channels;
- ``settings``: the /settings panel and its text commands;
- ``editors``: previews, roles, the audit log, figures;
- ``feeds``: /feeds and feed notices for editors;
- ``inline``: inline-mode results and deep links;
- ``webapp``: the buttons that open the Mini App.
"""
