"""docs/DEPLOY.md and the README's deploy recipes agree with template.yaml and with what
Microsoft and AWS actually do (the cases an admin trips over)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
DEPLOY = (REPO / "docs" / "DEPLOY.md").read_text()
README = (REPO / "README.md").read_text()


class _CloudFormationLoader(yaml.SafeLoader):
    """Reads !Ref, !Sub, ... as their plain argument, like tests/template_contract/."""


def _plain(loader, _suffix, node):
    if isinstance(node, yaml.ScalarNode):
        return loader.construct_scalar(node)
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node, deep=True)
    return loader.construct_mapping(node, deep=True)


_CloudFormationLoader.add_multi_constructor("!", _plain)
TEMPLATE = yaml.load((REPO / "template.yaml").read_text(), Loader=_CloudFormationLoader)


def parameter_table_rows() -> dict[str, str]:
    rows = {}
    for line in DEPLOY.splitlines():
        match = re.match(r"^\| `(\w+)` \| (.*) \| (.*) \|$", line)
        if match:
            rows[match.group(1)] = match.group(3)
    return rows


def test_every_stack_parameter_is_in_the_deploy_table_with_its_default():
    rows = parameter_table_rows()
    for name, parameter in TEMPLATE["Parameters"].items():
        assert name in rows, f"docs/DEPLOY.md's parameter table lacks {name}"
        default = parameter.get("Default")
        if default not in (None, ""):
            assert f"`{default}`" in rows[name], f"{name}: the table's default is not {default}"


def test_log_group_named_in_the_docs_is_the_template_one():
    name = TEMPLATE["Resources"]["FunctionLogGroup"]["Properties"]["LogGroupName"]
    prefix = name.replace("${AWS::StackName}", "")
    assert f"{prefix}<stack name>" in DEPLOY
    assert f"{prefix}entra-idc-sync" in DEPLOY
    assert "/aws/lambda/entra-idc-sync" not in DEPLOY + README


def test_gallery_display_name_is_given_and_the_object_id_recommended():
    assert "AWS IAM Identity Center (successor to AWS Single Sign-On)" in DEPLOY
    assert "successor to AWS Single Sign-On" in TEMPLATE["Parameters"]["AppDisplayName"]["Description"]
    assert re.search(r"`ServicePrincipalId`\s*\(\*\*recommended", DEPLOY)


def test_admin_consent_on_sovereign_clouds_goes_through_the_portal():
    section = DEPLOY[DEPLOY.index("**US Government and China clouds**"):][:900]
    assert "admin-consent` does not work" in section
    assert "portal.azure.us" in section and "portal.azure.cn" in section
    assert "Grant admin consent for" in section


def test_parameter_overrides_are_said_not_to_stick():
    section = DEPLOY[DEPLOY.index("## Change settings"):DEPLOY.index("## Troubleshooting")]
    assert "--parameter-overrides" in section and "not written to `samconfig.toml`" in section
    assert "sam deploy --guided" in section and "parameter_overrides" in section


def test_docker_engine_on_linux_gets_arm64_emulation():
    section = DEPLOY[DEPLOY.index("## Run it locally with Docker"):]
    assert "binfmt" in section and "qemu-user-static" in section
    assert "exec format error" in section


def test_owned_by_powers_are_shown_next_to_the_choice():
    table = DEPLOY[DEPLOY.index("Choose one of the two options"):DEPLOY.index("**Admin center**: *Entra ID > App registrations > entra-idc-sync > API")]
    for power in ("read every application and service principal", "create new app registrations",
                  "secrets and certificates", "SCIM endpoint and token", "delete the app"):
        assert power in table, f"the OwnedBy option must say it can {power}"


def test_overlap_protection_is_explained():
    section = DEPLOY[DEPLOY.index("**Overlapping runs**"):][:1200]
    assert "lease" in section and "never" in section and "101" in section


@pytest.mark.parametrize("recipe_end", ["cargo lambda invoke"])
def test_cargo_lambda_watch_recipe_waits_until_it_listens(recipe_end):
    lines = README.splitlines()
    watch = next(i for i, line in enumerate(lines) if "cargo lambda watch" in line)
    invoke = next(i for i, line in enumerate(lines) if recipe_end in line and i > watch)
    between = "\n".join(lines[watch + 1:invoke])
    assert "9000" in between and re.search(r"\b(until|for|while)\b", between), \
        "the recipe must wait for cargo lambda watch to listen before invoking"
