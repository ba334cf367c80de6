"""The video registry: devices and channels as the platform heard them, scoped by owner."""
