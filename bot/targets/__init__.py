"""Clients for the systems the bot monitors (not its own store): the services' PostgreSQL and
Redis, their HTTP health endpoints and Prometheus. Library errors become `bot.errors` types here,
so nothing from asyncpg, redis or aiohttp leaks into checks or actions."""
