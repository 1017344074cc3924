"""`tipline telegram set-webhook`: tell Telegram where to deliver updates, with the secret token."""

from __future__ import annotations

import argparse
import asyncio
import sys

from telegram.error import TelegramError

from adapters.telegram import WEBHOOK_PATH, check_settings, make_bot
from adapters.telegram_parse import ALLOWED_UPDATES
from config.settings import Settings, load_settings


async def set_webhook(settings: Settings) -> str:
    """Register `PUBLIC_BASE_URL/webhooks/telegram` for the update kinds the adapter uses; return the URL."""
    check_settings(settings)
    url = f"{settings.public_base_url}{WEBHOOK_PATH}"
    bot, requests = make_bot(settings)
    try:
        await bot.set_webhook(url, secret_token=settings.telegram_webhook_secret,
                              allowed_updates=list(ALLOWED_UPDATES))
    finally:
        for request in requests:
            await request.shutdown()
    return url


def telegram_command(args: argparse.Namespace) -> int:
    settings = load_settings()
    try:
        url = asyncio.run(set_webhook(settings))
    except TelegramError as exc:
        print(f"tipline: Telegram refused the webhook: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    print(f"Telegram webhook set to {url} (updates: {', '.join(ALLOWED_UPDATES)})")
    return 0
