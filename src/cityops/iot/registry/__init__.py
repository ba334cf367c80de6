"""The device registry: profiles, devices, gateways, tokens, CSV provisioning, the directory."""
