"""Gateways: the code that talks to devices (simulated, later the HTTP device agent)."""
