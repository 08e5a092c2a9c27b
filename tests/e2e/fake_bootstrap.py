"""A tiny Lambda runtime client, only for testing the Runtime API stand-in in
devtools/runtime_api.py. Standard library only; it speaks the documented protocol:

    GET  /2018-06-01/runtime/invocation/next
    POST /2018-06-01/runtime/invocation/{id}/response | /error
    POST /2018-06-01/runtime/init/error

What it does with an event (a JSON object):
    {"fail": true}   posts an invocation error (errorType "FakeError")
    {"exit": N}      exits with code N without answering
    {"log": "text"}  prints one JSON log line, then answers as below
    {"sleep_s": S}   sleeps S seconds, then answers as below
    anything else    answers {"echo": event, "headers": {...}, "pid": ..., "env": {...}}

With FAKE_INIT_ERROR set in its environment it reports an init error and exits with code 1.
"""

import json
import os
import sys
import time
import urllib.request

API = "http://" + os.environ["AWS_LAMBDA_RUNTIME_API"] + "/2018-06-01/runtime"
ENV_SHOWN = ("AWS_LAMBDA_FUNCTION_NAME", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "AWS_LAMBDA_FUNCTION_VERSION",
             "AWS_LAMBDA_LOG_FORMAT", "AWS_LAMBDA_RUNTIME_API", "FAKE_MARK")
HEADERS_SHOWN = ("Lambda-Runtime-Aws-Request-Id", "Lambda-Runtime-Deadline-Ms",
                 "Lambda-Runtime-Invoked-Function-Arn", "Lambda-Runtime-Trace-Id")


def post(path: str, document, headers=None) -> int:
    request = urllib.request.Request(API + path, data=json.dumps(document).encode(), method="POST",
                                     headers={"Content-Type": "application/json", **(headers or {})})
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.status


def main() -> int:
    if os.environ.get("FAKE_INIT_ERROR"):
        post("/init/error", {"errorType": "FakeInitError", "errorMessage": "cannot start"},
             {"Lambda-Runtime-Function-Error-Type": "FakeInitError"})
        return 1
    while True:
        with urllib.request.urlopen(API + "/invocation/next", timeout=700) as response:
            event = json.loads(response.read())
            headers = {name: response.headers.get(name) for name in HEADERS_SHOWN}
        request_id = headers["Lambda-Runtime-Aws-Request-Id"]
        if not isinstance(event, dict):
            event = {"value": event}
        if "exit" in event:
            return int(event["exit"])
        if "log" in event:
            print(json.dumps({"level": "INFO", "message": event["log"], "requestId": request_id}), flush=True)
        if "sleep_s" in event:
            time.sleep(float(event["sleep_s"]))
        if event.get("fail"):
            post(f"/invocation/{request_id}/error",
                 {"errorType": "FakeError", "errorMessage": "asked to fail", "stackTrace": []},
                 {"Lambda-Runtime-Function-Error-Type": "FakeError"})
            continue
        post(f"/invocation/{request_id}/response", {
            "echo": event, "headers": headers, "pid": os.getpid(),
            "env": {name: os.environ.get(name) for name in ENV_SHOWN},
        })


if __name__ == "__main__":
    sys.exit(main())
