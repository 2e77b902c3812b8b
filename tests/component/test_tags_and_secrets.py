"""Cross-cutting properties of everything the program registers."""

from __future__ import annotations

import inspect

import pulumi
import pytest

from components.tags import COST_TAG_KEYS, parse_proxmox_tags
from dr.engines.offline import OFFLINE_SECRET_PLACEHOLDER


def _sdk_classes() -> dict[str, type]:
    """Type token -> SDK resource class, for every provider class loaded by the evaluations."""
    out: dict[str, type] = {}
    stack = [pulumi.CustomResource]
    while stack:
        cls = stack.pop()
        stack.extend(cls.__subclasses__())
        token = vars(cls).get("pulumi_type")  # set by @pulumi.type_token
        if isinstance(token, str):
            out[token] = cls
    return out


def _accepts_tags(cls: type) -> bool:
    init = getattr(cls, "_internal_init", cls.__init__)
    return "tags" in inspect.signature(init).parameters


@pytest.mark.parametrize("stack", ["cloud-dr", "onprem-prod"])
@pytest.mark.parametrize("dr_mode", ["standby", "active"])
def test_every_taggable_resource_has_all_cost_tags(offline_plan, stack, dr_mode):
    """Tag completeness is checked against the SDK: if its class takes `tags`, ours must carry them."""
    plan = offline_plan(stack, drMode=dr_mode) if stack == "cloud-dr" else offline_plan(stack)
    classes = _sdk_classes()
    checked = 0
    for r in plan.resources:
        if r.provider is None or r.type.startswith("pulumi:providers:"):
            continue
        cls = classes.get(r.type)
        if cls is None and r.type.startswith("kubernetes:"):
            # A custom resource (CRD kind): no SDK class. Kubernetes objects take no tags; their
            # cost labels are checked in test_kubernetes_plan.py.
            continue
        assert cls is not None, f"no SDK class found for {r.type}"
        if not _accepts_tags(cls):
            continue
        tags = r.inputs.get("tags")
        assert tags, f"{r.type} {r.name} has no tags"
        parsed = parse_proxmox_tags(tags) if isinstance(tags, list) else tags
        missing = [k for k in COST_TAG_KEYS if not parsed.get(k)]
        assert not missing, f"{r.type} {r.name} lacks cost tags {missing}"
        assert parsed["managed-by"] == "pulumi"
        checked += 1
    assert checked >= (12 if stack == "cloud-dr" else 8)


def test_component_tag_names_the_component(offline_plan):
    plan = offline_plan("cloud-dr")
    assert plan.get("traffic-tm").inputs["tags"]["component"] == "traffic-switch"
    assert plan.get("cloud-rg").inputs["tags"]["component"] == "cloud-dr-site"
    vm = offline_plan("onprem-prod").get("onprem-rke2-prod-srv-01")
    assert "component.onprem-site" in vm.inputs["tags"]
    assert "cost-center.cc-4120-infra" in vm.inputs["tags"]


@pytest.mark.parametrize("stack", ["cloud-dr", "onprem-prod"])
def test_secrets_stay_secret(offline_plan, stack):
    """Secret config reaches providers only as Pulumi secrets: the value never shows in a plan."""
    plan = offline_plan(stack)
    text = plan.model_dump_json()
    assert OFFLINE_SECRET_PLACEHOLDER not in text
    secret_inputs = {
        (r.type, k) for r in plan.resources for k, v in r.inputs.items() if v == "[secret]"
    }
    expected = (
        {
            ("azure-native:network:VirtualNetworkGatewayConnection", "sharedKey"),
            ("pulumi:providers:kubernetes", "kubeconfig"),
            # the SDK marks every Secret's data secret (here: the federation config, no credential)
            ("kubernetes:core/v1:Secret", "stringData"),
        }
        if stack == "cloud-dr"
        else {
            ("pulumi:providers:proxmoxve", "apiToken"),
            ("proxmoxve:index/fileLegacy:FileLegacy", "sourceRaw"),
            ("pulumi:providers:kubernetes", "kubeconfig"),
            ("kubernetes:core/v1:Secret", "stringData"),  # the Key Vault reader's client secret
        }
    )
    assert secret_inputs == expected
    assert any("placeholders stand in" in n for n in plan.notes)


def test_user_data_is_secret_even_from_a_plain_token():
    """The component marks the RKE2 user data secret (it embeds the join token) whatever it is given."""
    from pulumi.runtime.rpc import is_rpc_secret

    from components.onprem_site import OnPremSite, OnPremSiteArgs
    from components.settings import load_settings
    from components.tags import cost_tags
    from dr.engines.offline import evaluate
    from dr.stack_config import load_stack_config
    from tests.conftest import REPO

    settings = load_settings(load_stack_config(REPO, "onprem-prod").values, source="test")
    onprem = settings.onprem
    assert onprem is not None

    def program() -> None:
        OnPremSite(
            "t",
            OnPremSiteArgs(
                proxmox=onprem.proxmox,
                network=onprem.network,
                rke2=onprem.rke2,
                database=onprem.database,
                ssh_authorized_keys=onprem.ssh_authorized_keys,
                tags=cost_tags(env="t", owner="t", cost_center="t", component="t"),
                rke2_token="plain-token-value",
            ),
        )

    regs = evaluate(program, stack="onprem-prod", config={}, secret_keys=[])
    snippets = [r for r in regs if r.type == "proxmoxve:index/fileLegacy:FileLegacy"]
    assert len(snippets) == 6
    assert all(is_rpc_secret(r.inputs["sourceRaw"]) for r in snippets)


def test_a_secret_given_with_set_is_redacted_everywhere(offline_plan):
    """`--set vpnSharedKey=...` is a what-if secret: never printed in config, overrides or inputs."""
    plan = offline_plan("cloud-dr", vpnSharedKey="Set-On-The-Command-Line-42")
    text = plan.model_dump_json()
    assert "Set-On-The-Command-Line-42" not in text
    assert plan.overrides == {"hybridops:vpnSharedKey": "[secret]"}
    assert plan.config["hybridops:vpnSharedKey"] == "[secret]"
