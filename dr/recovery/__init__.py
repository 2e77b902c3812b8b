"""Recovery plans as data (ordered steps with precondition, action, verification, timeout and
kind), the runner that executes them idempotently with a journal and a per-stack lock, and the
evidence they leave."""
