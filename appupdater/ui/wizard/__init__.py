"""The three-page Update wizard: Devices, Deployment, Finalize."""
