"""Microsoft's documented shapes and hostile answers (issue 13, items 1-14), end to end: the
built bootstrap through the Runtime API against moto_server and the Graph simulator."""

import json
import socket
import threading
import time

from test_sync import graph_calls, only_job, token_calls


class RecordingProxy:
    """A loopback "proxy" that records the first line of every connection and refuses it."""

    def __init__(self):
        self.lines: list[str] = []
        self._server = socket.create_server(("127.0.0.1", 0))
        self._server.settimeout(0.2)
        self.url = f"http://127.0.0.1:{self._server.getsockname()[1]}"
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self):
        while not self._stop.is_set():
            try:
                connection, _ = self._server.accept()
            except OSError:
                continue
            with connection:
                connection.settimeout(2)
                try:
                    head = connection.recv(65536).decode("latin-1")
                except OSError:
                    head = ""
                self.lines.append(head.split("\r\n", 1)[0])
                connection.sendall(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n")

    def close(self):
        self._stop.set()
        self._thread.join()
        self._server.close()


def test_proxies_never_carry_plain_http(sim, invoke):
    """Secrets Manager (AWS SDK), the token endpoint and Graph are all plain http on loopback
    here: none of it may reach a proxy, whatever proxy variables are set."""
    proxy = RecordingProxy()
    try:
        env = {name: proxy.url for name in
               ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy")}
        run = invoke({"action": "status"}, env=env)
    finally:
        proxy.close()
    assert proxy.lines == [], f"plain http went through the proxy: {proxy.lines}"
    assert only_job(run.ok())["result"] == "statusRead"


def test_an_unusable_https_proxy_is_a_clear_startup_error(invoke):
    run = invoke({"action": "status"}, env={"HTTPS_PROXY": "socks5://user:pw-canary@proxy:1080"})
    assert run.error_type == "StartupError", run.error_message
    assert "HTTPS_PROXY is not a usable proxy URL" in run.error_message
    assert "pw-canary" not in run.error_message


def test_a_decimal_retry_after_is_honoured(sim, invoke):
    """Microsoft's throttling sample says `Retry-After: 2.128`: wait that long, not ~0.4 s."""
    sim.add_faults([{"path_contains": "/restart", "status": 429,
                     "headers": {"Retry-After": "2.128"}, "times": 1}])
    run = invoke({})
    assert only_job(run.ok())["result"] == "triggered"
    posts = graph_calls(sim, "POST", "/restart")
    assert [c["status"] for c in posts] == [429, 204]
    assert run.duration_ms >= 2100, f"retried after {run.duration_ms} ms"


def _token_answer(sim, body):
    sim.add_faults([{"endpoint": "token", "status": 200, "body": body}])


def test_an_empty_access_token_is_a_bad_answer_from_the_token_endpoint(sim, invoke):
    _token_answer(sim, {"token_type": "Bearer", "expires_in": 3599, "access_token": ""})
    run = invoke({"action": "status"})
    assert run.error_type == "EntraUnavailable", run.error_message
    assert "bad answer" in run.error_message and "empty access_token" in run.error_message
    assert "permission" not in run.error_message.lower()
    assert len(token_calls(sim)) == 1, "a bad token answer is not retried locally"
    assert graph_calls(sim) == [], "an empty token is never sent to Graph"


def test_a_token_with_control_characters_is_a_bad_answer(sim, invoke):
    _token_answer(sim, {"token_type": "Bearer", "expires_in": "3599",
                        "access_token": "eyJ0eXAi.abc\r\nX-Injected: 1"})
    run = invoke({"action": "status"})
    assert run.error_type == "EntraUnavailable", run.error_message
    assert "bad answer" in run.error_message and "control characters" in run.error_message
    assert "did not answer" not in run.error_message
    assert "X-Injected" not in run.error_message
    assert len(token_calls(sim)) == 1
    assert graph_calls(sim) == []


def test_a_secret_with_a_byte_order_mark_is_accepted(sim, invoke, moto):
    from conftest import DEMO_SECRET
    moto.values.add(DEMO_SECRET["client_secret"])
    secret_id = moto.put_secret("\ufeff" + json.dumps(DEMO_SECRET))
    run = invoke({"action": "status"}, env={"SECRET_ID": secret_id})
    assert only_job(run.ok())["result"] == "statusRead"


def test_text_logs_cannot_be_forged_by_a_display_name(sim, invoke, scenario):
    forged = "AWS IAM Identity Center\nERROR forged line"
    scenario["service_principals"][0]["displayName"] = forged
    sim.set_scenario(scenario)
    run = invoke({"action": "status"},
                 env={"APP_DISPLAY_NAME": forged, "AWS_LAMBDA_LOG_FORMAT": "Text"})
    assert run.succeeded, run.error_message
    assert not any(line.startswith("ERROR forged") for line in run.logs), run.log_text()
    assert any("\\nERROR forged line" in line for line in run.logs), run.log_text()
