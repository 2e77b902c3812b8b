"""HybridOps DR driver: engines, recovery plans, database steps, records, the CLI and the relay."""
