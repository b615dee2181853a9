"""The aiohttp application: health, Plivo webhooks, the audio websocket, the JSON API."""
