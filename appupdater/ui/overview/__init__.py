"""The Deployment Overview window: runs, their deployments, details and actions."""
