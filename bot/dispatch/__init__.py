"""Dispatch: the rules that decide who handles a ticket and by when.

Plain functions over a database session; nothing here knows about WeChat,
the conversation or the console.
"""
