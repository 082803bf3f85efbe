"""The local edgeAgent: runs each module of a deployment manifest as a process.

`restart_policy` and `plan` are pure (edgeAgent's rules and manifest diffs);
`process` owns one child process, `supervisor` runs them all, `entrypoints`
finds each module's command, `azurite` starts the blob service, and
`local_settings` reads the developer's local overrides.
"""
