"""A small SIP layer (RFC 3261) for the GB/T 28181 platform roles: messages, transports, digest."""
