"""WeChat's server protocol: signatures, AES envelopes, message parsing, replies, the API client.

Nothing here knows about complaints: the conversation plugs in as handlers.
"""
