"""Pulumi ComponentResources for the HybridOps DR estate (one component per module).

Importing this package is cheap: provider SDKs are imported by the component modules only.
"""
