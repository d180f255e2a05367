"""Readers at speed (issue 14): Herald and a bare PTB bot against one fake, at rising rates.

Three processes besides the bot under test: the fake Bot API (``fake_server``), the bot
(``python -m bot`` or ``bare_bot``) and the driver (``__main__``), so on the 2-core machine the
bot has a core of its own and the numbers say what one bot process can do.
"""
