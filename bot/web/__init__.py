"""Herald's own HTTP server: the Mini App under ``/app/`` and its JSON API under ``/api/``.

The server runs inside the bot's event loop (started and stopped by ``bot.app.serve``), in
polling mode too. ``bot.web.server.make_app`` builds the aiohttp application; the webhook intake
and the health and metrics endpoints of issue 9 belong there as further route groups.
"""
