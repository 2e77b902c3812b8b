"""The local lab: the whole DR loop on one machine, with real PostgreSQL, Prometheus and Alertmanager."""
