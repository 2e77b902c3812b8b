"""Key Vault: no fixed fee; operations are billed per 10,000
(https://azure.microsoft.com/pricing/details/key-vault/). HSM-protected keys and certificate
renewals bill on other meters (not modelled)."""

from __future__ import annotations

from decimal import Decimal

from pydantic import Field

from cost.mappers.base import Component, Mapper, ResourceContext, Usage, lookup


class VaultUsage(Usage):
    monthly_operations: Decimal | None = Field(default=None, ge=0)
    """Secret/key operations per month (each read by External Secrets or the CSI driver counts)."""


class VaultMapper(Mapper):
    type_token = "azure-native:keyvault:Vault"
    usage_model = VaultUsage

    def components(self, r: ResourceContext) -> list[Component]:
        sku = str(lookup(r.inputs, "properties.sku.name", default="standard")).lower()
        usage = r.usage if isinstance(r.usage, VaultUsage) else VaultUsage()
        ops = usage.monthly_operations
        return [
            Component(
                name=f"Operations ({sku})",
                unit="operations",
                quantity=ops if ops is not None else Decimal(0),
                price_key=f"key-vault/{r.region}/{sku}/operations",
                kind="usage",
                usage_key="monthly_operations",
                note=None if ops is not None else "no usage set: 0 operations assumed",
            )
        ]
