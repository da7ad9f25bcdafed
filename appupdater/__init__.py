"""App Updater: roll out new application versions to a fleet of edge devices."""

__version__ = "0.1.0"
