"""The HTTP face of command and dispatch: /api/v1/command/…"""
