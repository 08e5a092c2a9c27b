"""The provision-on-demand endpoint family: a job's schema (where the rule id comes from) and
`POST …/jobs/{jobId}/provisionOnDemand`, in Microsoft's documented shapes (see
/work/shared/graph-next-apis.md section 1).

- The answer is a `stringKeyStringValuePair` whose `key` and `value` are JSON strings.
- Microsoft's limit, 5 calls per 10 seconds per enterprise app, is enforced with a 429 and a
  `Retry-After`; tests may shorten the window (`/_sim/provisioning`).
- What was exported is remembered, so provisioning an unchanged object again answers
  `Skipped` / `RedundantExport`, as Graph does.
- Tests can make objects fail (`Failure` with an errorCode), a given number of times or always.
"""

from __future__ import annotations

import json
import math
import uuid
from dataclasses import dataclass, field
from typing import Any

from .directory_state import Directory, iso
from .graph import GraphError

AWS_RULE_ID = "03f7d90d-bf71-41b1-bda6-aaf0ddbee5d8"
MAX_GROUP_MEMBERS = 5
CONFIG_KEYS = ("window_seconds", "limit", "schema_rules", "failures")


def aws_schema(job_id: str, rules: list | None) -> dict:
    """The AWS IAM Identity Center template's schema as Graph returns it (rules cut to what
    matters: ids, names, directories, metadata, one object mapping)."""
    default_rule = {
        "id": AWS_RULE_ID,
        "name": "USERGROUP_OUTBOUND_USERGROUP",
        "sourceDirectoryName": "Azure Active Directory",
        "targetDirectoryName": "AWSSingleSignon",
        "editable": True,
        "priority": 1,
        "containerFilter": {"includedContainers": []},
        "groupFilter": {"includedGroups": []},
        "metadata": [{"key": "defaultIfNullBehavior", "value": "Skip"},
                     {"key": "supportsProvisionOnDemand", "value": "true"}],
        "objectMappings": [{
            "enabled": True, "flowDirection": "Outbound", "flowTypes": "Add,Update,Delete",
            "name": "Provision Azure Active Directory Groups", "sourceObjectName": "Group",
            "targetObjectName": "urn:ietf:params:scim:schemas:core:2.0:Group", "attributeMappings": [],
            "metadata": [], "scope": None,
        }],
    }
    return {
        "id": f"{job_id.split('.')[0]}.00000000000000000000000000000000",
        "version": "6.0",
        "synchronizationRules": rules if rules is not None else [default_rule],
        "directories": [{"id": "AzureActiveDirectory", "name": "Azure Active Directory"},
                        {"id": "AWSSingleSignon", "name": "AWSSingleSignon"}],
    }


@dataclass
class Provisioning:
    window_seconds: float = 10.0
    limit: int = 5
    schema_rules: list | None = None
    #: object id -> {"errorCode", "errorMessage", "times" (None: always)}
    failures: dict[str, dict] = field(default_factory=dict)
    #: sp id -> times of accepted calls
    calls: dict[str, list[float]] = field(default_factory=dict)
    #: object id -> what was last exported (user: its attributes; group: attributes + members)
    exported: dict[str, Any] = field(default_factory=dict)
    log: list[dict] = field(default_factory=list)

    def configure(self, raw: Any) -> None:
        if not isinstance(raw, dict):
            raise ValueError("provisioning settings must be an object")
        unknown = [k for k in raw if k not in CONFIG_KEYS and not k.startswith("_")]
        if unknown:
            raise ValueError(f"unknown provisioning keys {unknown}; known: {', '.join(CONFIG_KEYS)}")
        if "window_seconds" in raw:
            self.window_seconds = float(raw["window_seconds"])
        if "limit" in raw:
            self.limit = int(raw["limit"])
        if "schema_rules" in raw:
            self.schema_rules = raw["schema_rules"]
        if "failures" in raw:
            failures = raw["failures"] or {}
            if not isinstance(failures, dict):
                raise ValueError("failures must map object ids to {errorCode, errorMessage, times}")
            self.failures = {k.lower(): dict(v) for k, v in failures.items()}

    def state(self) -> dict:
        return {"window_seconds": self.window_seconds, "limit": self.limit, "failures": self.failures,
                "calls": self.log}

    def rule_ids(self, job_id: str) -> set[str]:
        rules = aws_schema(job_id, self.schema_rules)["synchronizationRules"]
        return {r.get("id") for r in rules if isinstance(r, dict)}

    # -- the call -----------------------------------------------------------------------------

    def throttle(self, sp_id: str, now: float) -> None:
        recent = [t for t in self.calls.get(sp_id, []) if now - t < self.window_seconds]
        self.calls[sp_id] = recent
        if len(recent) >= self.limit:
            wait = max(1, math.ceil(recent[0] + self.window_seconds - now))
            raise GraphError(429, "TooManyRequests",
                                 f"The rate limit for this API is {self.limit} requests per "
                                 f"{self.window_seconds:g} seconds. Retry after {wait} seconds.",
                                 [("Retry-After", str(wait))])
        recent.append(now)

    def provision(self, directory: Directory, sp_id: str, job_id: str, body: Any, now: float) -> dict:
        parameter = self.parameter(job_id, body)
        subject = parameter["subjects"][0]
        self.throttle(sp_id, now)
        result, details, steps = self.outcome(directory, subject)
        self.log.append({"time": iso(now), "job_id": job_id, "rule_id": parameter["ruleId"],
                         "subject": subject, "result": result, "details": details})
        return answer(result, details, steps, subject, now)

    def parameter(self, job_id: str, body: Any) -> dict:
        """Validates the body: one parameter with the job's rule and one subject."""
        parameters = body.get("parameters") if isinstance(body, dict) else None
        if not isinstance(parameters, list) or len(parameters) != 1 or not isinstance(parameters[0], dict):
            raise GraphError(400, "RequestParameterInvalid",
                                 "The request body must be {\"parameters\": [{\"ruleId\": ..., \"subjects\": [...]}]}.")
        parameter = parameters[0]
        rule = parameter.get("ruleId")
        if rule not in self.rule_ids(job_id):
            raise GraphError(400, "RequestParameterInvalid",
                                 f"The request identified this synchronization job: {job_id}.  The request also "
                                 f"identified this synchronization rule: {rule or ''}.  However, the job does not "
                                 "include the rule.")
        subjects = parameter.get("subjects")
        if not isinstance(subjects, list) or len(subjects) != 1 or not isinstance(subjects[0], dict):
            raise GraphError(400, "RequestParameterInvalid",
                                 "The on-demand provisioning request accepts a single user, or a single group "
                                 "with up to 5 members.")
        subject = subjects[0]
        kind = subject.get("objectTypeName")
        if kind not in ("User", "Group") or not isinstance(subject.get("objectId"), str):
            raise GraphError(400, "RequestParameterInvalid",
                                 f"objectTypeName must be User or Group for this job, not {kind!r}, with an objectId.")
        members = (subject.get("links") or {}).get("members") or []
        if kind == "User" and members:
            raise GraphError(400, "RequestParameterInvalid", "A User subject has no links.")
        if len(members) > MAX_GROUP_MEMBERS:
            raise GraphError(400, "RequestParameterInvalid",
                                 f"The on-demand provisioning request API can only accept a single group with up "
                                 f"to {MAX_GROUP_MEMBERS} members at a time; {len(members)} were sent.")
        for member in members:
            if not isinstance(member, dict) or member.get("objectTypeName") != "User":
                raise GraphError(400, "RequestParameterInvalid", "Group members must be User subjects.")
        return parameter

    def outcome(self, directory: Directory, subject: dict) -> tuple[str, dict, list]:
        object_id = subject["objectId"].lower()
        members = [m["objectId"].lower() for m in (subject.get("links") or {}).get("members") or []]
        failure = self.failure_for([object_id, *members])
        if failure:
            return "Failure", failure, [step("EntryExportUpdate", "Export", "Failure", failure["errorMessage"])]
        if subject["objectTypeName"] == "User":
            user = directory.users.get(object_id)
            if user is None:
                return "Failure", {"errorCode": "EntryNotFound",
                                   "errorMessage": f"The user {object_id} was not found in Azure Active Directory."}, []
            return self.export(object_id, dict(user))
        group = directory.groups.get(object_id)
        if group is None:
            return "Failure", {"errorCode": "EntryNotFound",
                               "errorMessage": f"The group {object_id} was not found in Azure Active Directory."}, []
        target = dict(self.exported.get(object_id) or {"members": []})
        wanted = set(target["members"])
        for member in members:
            if member in group["members"]:
                wanted.add(member)
                self.exported[member] = dict(directory.users.get(member) or {})
            else:
                wanted.discard(member)
        snapshot = {"displayName": group.get("displayName"), "members": sorted(wanted)}
        return self.export(object_id, snapshot)

    def export(self, object_id: str, snapshot: dict) -> tuple[str, dict, list]:
        if self.exported.get(object_id) == snapshot:
            return "Skipped", {"errorCode": "RedundantExport",
                               "errorMessage": "The state of the user in both the source and target systems "
                                               "already match."}, [
                step("EntrySynchronizationSkip", "Export", "Skipped", "Skipped: nothing to change")]
        self.exported[object_id] = snapshot
        return "Success", {}, [step("EntryExportUpdate", "Export", "Success", "Exported to AWSSingleSignon")]

    def failure_for(self, ids: list[str]) -> dict | None:
        for object_id in ids:
            rule = self.failures.get(object_id)
            if rule is None:
                continue
            times = rule.get("times")
            if times is not None:
                if times <= 0:
                    continue
                rule["times"] = times - 1
            return {"errorCode": rule.get("errorCode", "SystemForCrossDomainIdentityManagementBadResponse"),
                    "errorMessage": rule.get("errorMessage", "The SCIM endpoint refused the request.")}
        return None


def step(name: str, kind: str, status: str, description: str) -> dict:
    return {"name": name, "type": kind, "status": status, "description": description, "timestamp": None,
            "details": {}}


def answer(result: str, details: dict, steps: list, subject: dict, now: float) -> dict:
    """The documented answer: `key` and `value` are JSON held in strings."""
    stamp = iso(now)
    for entry in steps:
        entry["timestamp"] = stamp
    log = {
        "action": "Update" if result == "Success" else "Other",
        "changeId": str(uuid.uuid4()),
        "startTime": stamp,
        "endTime": stamp,
        "modifiedProperties": [{"displayName": "objectId", "oldValue": None, "newValue": subject["objectId"]}],
        "provisioningSteps": [
            step("EntryImport", "Import", "Success", f"Retrieved {subject['objectTypeName']} "
                 f"'{subject['objectId']}' from Azure Active Directory") | {"timestamp": stamp},
            step("EntrySynchronizationScoping", "Scoping", "Success", "In scope") | {"timestamp": stamp},
            *steps,
        ],
        "reportableIdentifier": subject["objectId"],
        "statusInfo": {"status": result, "errorCode": details.get("errorCode"),
                       "reason": details.get("errorMessage"), "additionalDetails": None,
                       "errorCategory": None, "recommendedAction": None},
        "sourceIdentity": {"id": subject["objectId"], "type": subject["objectTypeName"]},
        "sourceSystem": {"name": "Azure Active Directory"},
        "targetSystem": {"name": "AWSSingleSignon"},
    }
    return {
        "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#microsoft.graph.stringKeyStringValuePair",
        "key": json.dumps({"result": result, "details": details}),
        "value": json.dumps(log),
    }
