"""The GitHub side of the flow, one module per job, on the client in ``reconciler.http.github``:

- ``comments``: the plan comment and the apply report (one comment per marker, edited, never
  duplicated), and the pull request merged as a commit;
- ``drift``: the drift issue (one per marker: opened, updated, closed, reopened);
- ``pulls``: the one pull request of a bot branch (the pull workflow's): opened, edited, closed;
- ``artifacts``: the newest artifact of a trusted run, its download and safe unpacking;
- ``actions``: what comes from the Actions environment (the client, the event, the commit, the
  run's URL).
"""
