"""provisioning layer."""
