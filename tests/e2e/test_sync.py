"""The core contract, end to end: the built bootstrap through the Lambda Runtime API, against
moto_server (Secrets Manager) and the Graph simulator. Each test says what an admin would see."""

import copy
import json

from devtools.directory import provision_scenario
from devtools.services import scenario_with_jobs
from helpers import CLIENT, EVENTS, JOB_ID, SP_ID, TENANT, event, graph_calls, only_job, token_calls

CANARY = "demo-client-secret-value"


def test_scheduled_event_restarts_the_job_and_reports_it(sim, invoke):
    run = invoke(event("scheduled.json"))
    job = only_job(run.ok())
    assert job["result"] == "triggered"
    assert job["jobId"] == JOB_ID and job["templateId"] == "AWSSCIM"
    assert job["servicePrincipalId"] == SP_ID and job["statusCode"] == "Active"
    assert job["lastExecution"]["state"] == "Succeeded"
    restarts = graph_calls(sim, "POST", "/restart")
    assert len(restarts) == 1
    assert restarts[0]["json_body"] == {}, "a plain restart sends {} (Microsoft documents a JSON body)"
    assert JOB_ID in restarts[0]["decoded_path"]
    assert restarts[0]["request_id"] in job["graphRequestIds"]
    lookup = graph_calls(sim, "GET", "/servicePrincipals")[0]
    assert lookup["query_params"]["$filter"] == "displayName eq 'AWS IAM Identity Center'"


def test_every_graph_call_carries_a_fresh_client_request_id_and_our_user_agent(sim, invoke):
    invoke({"action": "status"}).ok()
    calls = graph_calls(sim)
    ids = [c["client_request_id"] for c in calls]
    assert all(ids) and len(set(ids)) == len(ids)
    assert all(c["user_agent"].startswith("entra-idc-sync/") for c in sim.requests())


def test_reset_scope_goes_into_the_restart_criteria(sim, invoke):
    invoke(event("restart-full.json")).ok()
    assert graph_calls(sim, "POST", "/restart")[0]["json_body"] == {"criteria": {"resetScope": "Full"}}


def test_reset_scope_from_the_environment(sim, invoke):
    invoke({}, env={"RESET_SCOPE": "watermark, Escrows"}).ok()
    body = graph_calls(sim, "POST", "/restart")[0]["json_body"]
    assert body == {"criteria": {"resetScope": "Watermark,Escrows"}}


def test_status_reads_and_never_posts(sim, invoke):
    job = only_job(invoke(event("status.json")).ok())
    assert job["result"] == "statusRead" and job["health"]["healthy"]
    assert graph_calls(sim, "POST") == []


def test_dry_run_resolves_everything_and_triggers_nothing(sim, invoke):
    report = invoke(event("dry-run.json")).ok()
    assert report["dryRun"] is True
    assert only_job(report)["result"] == "wouldTrigger"
    assert graph_calls(sim, "POST") == []


def test_start_resumes_a_paused_job(sim, invoke, scenario):
    scenario["service_principals"][0]["jobs"][0].update(status_code="Paused", schedule_state="Paused")
    sim.set_scenario(scenario)
    assert only_job(invoke(event("start.json")).ok())["result"] == "triggered"
    assert len(graph_calls(sim, "POST", "/start")) == 1


def test_every_event_file_is_a_valid_request(sim, invoke):
    # The demo tenant with a directory and provision's read permissions: events/provision.json
    # names a user, and the other actions do not look at the directory.
    for path in sorted(EVENTS.glob("*.json")):
        sim.set_scenario(provision_scenario())
        run = invoke(json.loads(path.read_text()))
        assert run.succeeded, f"{path.name}: {run.error_type}: {run.error_message}"


def test_service_principal_id_skips_the_lookup(sim, invoke):
    only_job(invoke({}, env={"SERVICE_PRINCIPAL_ID": SP_ID, "APP_DISPLAY_NAME": ""}).ok())
    assert graph_calls(sim, "GET", "servicePrincipals?") == []
    assert [c for c in graph_calls(sim, "GET") if "$filter" in c["query"]] == []


def test_app_id_works_as_the_service_principal_id(sim, invoke):
    app_id = "1b4e7c2a-9d5f-4a3e-8c6b-0f2d4e6a8c1b"
    assert only_job(invoke({"servicePrincipalId": app_id, "action": "status"}).ok())["jobId"] == JOB_ID


def test_target_from_the_secret_when_the_environment_has_none(sim, invoke, make_secret):
    name = make_secret(app_display_name="AWS IAM Identity Center")
    run = invoke({"action": "status"}, env={"SECRET_ID": name, "APP_DISPLAY_NAME": ""})
    assert only_job(run.ok())["jobId"] == JOB_ID


def test_camel_case_and_az_cli_secret_shapes_work(invoke, make_secret):
    for fields in (
        {"tenantId": TENANT, "clientId": CLIENT, "clientSecret": CANARY},
        {"tenant": TENANT, "appId": CLIENT, "password": CANARY, "displayName": "entra-idc-sync"},
    ):
        name = make_secret(raw=fields)
        assert invoke({"action": "status"}, env={"SECRET_ID": name}).succeeded


def test_display_name_with_a_quote_is_escaped(sim, invoke, scenario):
    scenario["service_principals"][0]["displayName"] = "O'Brien's AWS"
    sim.set_scenario(scenario)
    job = only_job(invoke({"action": "status", "appDisplayName": "O'Brien's AWS"}).ok())
    assert job["jobId"] == JOB_ID


def test_jobs_are_paged_and_every_job_is_acted_on(sim, invoke, scenario):
    scenario = scenario_with_jobs(3, scenario)
    scenario["page_size"] = 2
    sim.set_scenario(scenario)
    report = invoke({}).ok()
    assert sorted(j["result"] for j in report["jobs"]) == ["triggered"] * 3
    assert len(graph_calls(sim, "POST", "/restart")) == 3
    assert len(graph_calls(sim, "GET", "/synchronization/jobs")) == 2


def test_job_id_limits_the_action_to_one_job(sim, invoke, scenario):
    sp = scenario["service_principals"][0]
    second = dict(copy.deepcopy(sp["jobs"][0]), id=f"AWSSCIM.{'b' * 32}.{TENANT}")
    sp["jobs"].append(second)
    sim.set_scenario(scenario)
    report = invoke({"jobId": second["id"]}).ok()
    assert [j["jobId"] for j in report["jobs"]] == [second["id"]]
    assert len(graph_calls(sim, "POST", "/restart")) == 1


def test_warm_invocation_reuses_secret_token_and_service_principal(sim, invoke):
    runs = invoke([{"action": "status"}, {"action": "status"}])
    assert all(r.succeeded for r in runs)
    assert len(token_calls(sim)) == 1
    assert len([c for c in graph_calls(sim, "GET") if "$filter" in c["query"]]) == 1
    assert runs.log_count("read the credentials secret") == 1


def test_expired_token_mid_run_gets_one_refresh(sim, invoke):
    def expire_between(index):
        if index == 1:
            sim.expire_tokens()

    runs = invoke([{"action": "status"}, {"action": "status"}], before_each=expire_between)
    assert all(r.succeeded for r in runs)
    assert len(token_calls(sim)) == 2
    statuses = [c["status"] for c in graph_calls(sim, "GET", "/synchronization/jobs")]
    assert statuses == [200, 401, 200]


def test_rotated_secret_is_picked_up_when_entra_rejects_the_old_one(sim, invoke, scenario, moto):
    name = moto.put_secret({"tenant_id": TENANT, "client_id": CLIENT, "client_secret": CANARY,
                            "app_display_name": "AWS IAM Identity Center"})

    def rotate_before_second(index):
        if index == 1:
            rotated = copy.deepcopy(scenario)
            rotated["tenants"][0]["apps"][0]["secrets"] = [{"value": "rotated-secret-value-2", "expired": False}]
            sim.set_scenario(rotated)  # also revokes every issued token
            moto.put_secret({"tenant_id": TENANT, "client_id": CLIENT, "client_secret": "rotated-secret-value-2",
                             "app_display_name": "AWS IAM Identity Center"}, name=name)

    runs = invoke([{"action": "status"}, {"action": "status"}], env={"SECRET_ID": name},
                  before_each=rotate_before_second)
    assert runs[0].succeeded and runs[1].succeeded, runs[1].error_message
    assert runs.log_count("read the credentials secret") == 2


def test_logs_are_json_lines_and_honour_the_lambda_log_level(sim, invoke):
    run = invoke({"action": "status"})
    documents = run.json_logs()
    assert len(documents) == len(run.logs), "every line is JSON"
    summaries = [d for d in documents if d.get("message") == "job summary"]
    assert len(summaries) == 1 and summaries[0]["job_id"] and summaries[0]["result"] == "statusRead"
    calls = [d for d in documents if d.get("message") == "http call"]
    assert calls and all(d["client_request_id"] and d["request_id"] for d in calls)

    quiet = invoke({"action": "status"}, env={"AWS_LAMBDA_LOG_LEVEL": "WARN"})
    assert [d for d in quiet.json_logs() if d.get("level") == "INFO"] == []

    text = invoke({"action": "status"}, env={"AWS_LAMBDA_LOG_FORMAT": "Text"})
    assert any("job summary" in line and not line.startswith("{") for line in text.logs)
