"""HybridOps DR Pulumi program. Thin on purpose: see components/program.py."""

from components.program import run

run()
