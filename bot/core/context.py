"""Shared dependencies for views and commands: the settings and the database of the running app."""
from __future__ import annotations

from flask import current_app

from bot.core.config import Settings
from bot.core.db import Database


def settings() -> Settings:
    return current_app.extensions["fangxin_settings"]


def database() -> Database:
    return current_app.extensions["fangxin_db"]
