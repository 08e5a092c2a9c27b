"""The built-in scenario. sim/scenarios/demo.json is the same data; a self-test keeps them equal."""

from __future__ import annotations

from typing import Any

DEMO_TENANT_ID = "8d3f5a2e-6b1c-4e9f-a7d2-3c5b8e1f0a94"

DEFAULT_SCENARIO: dict[str, Any] = {
    "graph_scope": "https://graph.microsoft.com/.default",
    "token_lifetime_seconds": 3599,
    "page_size": 100,
    "tenants": [
        {
            "id": DEMO_TENANT_ID,
            "display_name": "Contoso",
            "domains": ["contoso.onmicrosoft.com", "contoso.com"],
            "apps": [
                {
                    "client_id": "5b0e6c1d-2f3a-4b8c-9d7e-1a2b3c4d5e6f",
                    "display_name": "entra-idc-sync",
                    "secrets": [{"value": "demo-client-secret-value", "expired": False}],
                    "disabled": False,
                    "roles": ["Synchronization.ReadWrite.All", "Application.Read.All"],
                    "service_principal_id": "c7e2a9f4-1b3d-4e5f-8a6b-9c0d1e2f3a4b",
                }
            ],
        }
    ],
    "service_principals": [
        {
            "id": "2f6e8a1c-4d3b-4c9e-b5a7-6d8f0e1c2b3a",
            "appId": "1b4e7c2a-9d5f-4a3e-8c6b-0f2d4e6a8c1b",
            "displayName": "AWS IAM Identity Center",
            "tenant_id": DEMO_TENANT_ID,
            "owners": [],
            "jobs": [
                {
                    "id": "AWSSCIM.4f9a2c1b8e7d4f60a1b2c3d4e5f60718." + DEMO_TENANT_ID,
                    "templateId": "AWSSCIM",
                    "status_code": "Active",
                    "schedule_state": "Active",
                    "cycle_seconds": 1.0,
                    "cycle_outcome": {
                        "state": "Succeeded",
                        "countEntitled": 12,
                        "countImported": 12,
                        "countExported": 3,
                        "countEscrowed": 0,
                        "error": None,
                    },
                    "last_execution": {
                        "activityIdentifier": "3e9b7c1a-5d2f-4a8e-9b6c-0d1e2f3a4b5c",
                        "countEntitled": 12,
                        "countEntitledForProvisioning": 12,
                        "countEscrowed": 0,
                        "countEscrowedRaw": 0,
                        "countExported": 0,
                        "countExports": 0,
                        "countImported": 12,
                        "countImportedDeltas": 0,
                        "countImportedReferenceDeltas": 0,
                        "error": None,
                        "state": "Succeeded",
                        "timeBegan": "2026-11-28T08:35:01.8461572Z",
                        "timeEnded": "2026-11-28T08:35:09.2214301Z",
                    },
                    "last_successful_execution_with_exports": {
                        "activityIdentifier": "a4c6e8f0-2b4d-4f6a-8c0e-1f3a5b7d9e2c",
                        "countEntitled": 12,
                        "countEntitledForProvisioning": 12,
                        "countEscrowed": 0,
                        "countEscrowedRaw": 0,
                        "countExported": 2,
                        "countExports": 2,
                        "countImported": 12,
                        "countImportedDeltas": 2,
                        "countImportedReferenceDeltas": 0,
                        "error": None,
                        "state": "Succeeded",
                        "timeBegan": "2026-11-28T07:55:00.5120987Z",
                        "timeEnded": "2026-11-28T07:55:11.0046613Z",
                    },
                    "quarantine": None,
                    "countSuccessiveCompleteFailures": 0,
                    "troubleshootingUrl": None,
                    "steadyStateFirstAchievedTime": "2026-03-02T14:07:44.1093375Z",
                    "steadyStateLastAchievedTime": "2026-11-28T08:35:09.2214301Z",
                }
            ],
        },
        {
            "id": "9a1c3e5b-7d2f-4b6a-8e0c-2d4f6a8b0c1e",
            "appId": "e3f1a2b4-c5d6-4e7f-8a9b-0c1d2e3f4a5b",
            "displayName": "Salesforce",
            "tenant_id": DEMO_TENANT_ID,
            "owners": [],
            "jobs": [
                {
                    "id": "salesforce.0c1d2e3f4a5b46c7d8e9f0a1b2c3d4e5." + DEMO_TENANT_ID,
                    "templateId": "salesforce",
                    "status_code": "Active",
                    "schedule_state": "Active",
                    "cycle_seconds": 1.0,
                    "cycle_outcome": {"state": "Succeeded", "countEntitled": 40, "countImported": 40},
                    "last_execution": None,
                    "quarantine": None,
                    "countSuccessiveCompleteFailures": 0,
                    "troubleshootingUrl": None,
                    "steadyStateFirstAchievedTime": None,
                    "steadyStateLastAchievedTime": None,
                }
            ],
        },
    ],
}
