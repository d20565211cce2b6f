"""The consumer dialogue: from a first message to a ticket the consumer can follow."""
