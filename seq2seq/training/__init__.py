"""Training: Lightning module, losses, schedules and the glue to the Hydra configuration."""
