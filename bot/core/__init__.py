"""Configuration, database, clock and security: the pieces every capability shares."""
