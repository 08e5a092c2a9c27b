"""Entra ID + Microsoft Graph simulator for entra-idc-sync's tests, benchmarks and demo.

One loopback HTTP server plays both services the Lambda talks to: the Microsoft identity
platform token endpoint (client credentials, v2.0) and Graph v1.0 (service principals and their
synchronization jobs). A JSON scenario describes the world; a control API under /_sim/ swaps it,
injects faults, expires tokens and exposes a request log with secrets already hashed. Standard
library only. Run `python -m sim --help`; sim/README.md documents the CLI, the scenario, the
control API and how to add an endpoint family.

Layout (one module per concern; imports run downwards):
  __main__      CLI and lifecycle
  simulator     state behind one lock; one request through faults, routes and the request log
  control       the /_sim/ control plane (a registry)
  server        HTTP plumbing: handler, server, request bodies
  endpoints/    endpoint families, imported as a whole at start (token, service principals, jobs, ...)
  graph         Graph plumbing shared by the Graph families: errors, bearer check, OData, paging
  faults        fault rules
  routes        the route registry: method + path pattern -> handler
  context       one request, and its request-log entry
  scenario      scenario JSON -> World, strictly validated; section and field registries
  world         tenants, apps, service principals, jobs and the job state machine
  common        vocabulary and small helpers
"""
